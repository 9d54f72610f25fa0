import { ConfigError } from './config/config.loader';
import { EnvError } from './config/env';
import { startApp, StartupError } from './bootstrap';

/**
 * The whole shutdown gets this long (under the 30 s an orchestrator waits before SIGKILL): jobs
 * have 10 s of it; a close that still hangs (a Redis that does not answer) must not keep the
 * process, so it exits 1 saying so.
 */
const SHUTDOWN_LIMIT_MS = 25_000;

/**
 * The production entry point (`node dist/main.js`, or `npm run start:prod`). SIGTERM or SIGINT
 * stops it cleanly: in-flight jobs get their grace period, the HTTP server and the Redis
 * connections close, and it logs `stopped` before it exits 0. A second signal (a second or more
 * after the first) exits at once.
 */
startApp().then(
  ({ app, logger }) => {
    let stopping = 0;
    const stop = (signal: NodeJS.Signals) => {
      // Ctrl-C under npm reaches node twice at once (from the terminal and forwarded by npm): one stop.
      if (stopping && Date.now() - stopping < 1000) return;
      if (stopping) {
        logger.warn({ event: 'shutdown.forced', signal }, `${signal} again: exiting without waiting for the shutdown to finish`);
        logger.flush(() => process.exit(1));
        return;
      }
      stopping = Date.now();
      logger.info({ event: 'shutdown.started', signal }, `${signal} received: finishing in-flight work, then stopping`);
      setTimeout(() => {
        logger.error({ event: 'shutdown.timeout', limitMs: SHUTDOWN_LIMIT_MS }, `shutdown did not finish in ${SHUTDOWN_LIMIT_MS / 1000} s (is Redis answering?): exiting anyway`);
        logger.flush(() => process.exit(1));
      }, SHUTDOWN_LIMIT_MS).unref();
      app.close().then(
        () => {
          logger.info({ event: 'stopped', signal }, 'voipnow-crm-connector stopped');
          logger.flush(() => process.exit(0));
        },
        (err: unknown) => {
          logger.error({ event: 'shutdown.failed', err: (err as Error).message }, 'shutdown failed');
          logger.flush(() => process.exit(1));
        },
      );
    };
    // Not SIGHUP: that reloads the configuration (ConfigStore listens for it).
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  },
  (err: unknown) => {
    // Configuration and start-up mistakes get their message alone: a stack trace would bury what to fix.
    if (err instanceof ConfigError || err instanceof EnvError || err instanceof StartupError) console.error(err.message);
    else console.error(err);
    process.exit(1);
  },
);
