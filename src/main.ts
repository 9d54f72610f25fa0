import { ConfigError } from './config/config.loader';
import { EnvError } from './config/env';
import { startApp } from './bootstrap';

startApp().catch((err: unknown) => {
  // Configuration mistakes get their message alone: a stack trace would bury what to fix.
  if (err instanceof ConfigError || err instanceof EnvError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
