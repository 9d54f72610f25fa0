/**
 * Validates a configuration file without starting the connector:
 *   npm run config:check -- config/connector.yaml
 * Exit code 0 when valid, 1 with every problem listed otherwise. Secrets are checked against
 * this shell's environment (NAME or NAME_FILE), as the service would see them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, loadConfigFile } from '../config/config.loader';

const file = resolve(process.argv[2] ?? process.env.CONFIG_FILE ?? 'config/connector.yaml');
const secret = (name: string) => {
  const direct = process.env[name]?.trim();
  if (direct) return direct;
  const path = process.env[`${name}_FILE`];
  return path && existsSync(path) ? readFileSync(path, 'utf8').trim() || undefined : undefined;
};

try {
  const config = loadConfigFile(file, secret);
  const m = config.mappings;
  console.log(
    `${file}: valid. ${Object.keys(config.connections).length} connection(s) (${Object.entries(config.connections)
      .map(([n, c]) => `${n}: ${c.type}`)
      .join(', ')}); defaults ${m.defaults ? 'set' : 'not set (unmapped extensions are skipped)'}; ` +
      `${Object.keys(m.organisations).length} organisation rule(s); ${Object.keys(m.extensions).length} extension rule(s).`,
  );
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `${file}: ${(err as Error).message}`);
  process.exit(1);
}
