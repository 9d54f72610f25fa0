/**
 * Validates a configuration file without starting the connector:
 *   npm run config:check -- config/connector.yaml [--skip-secrets]
 * Exit code 0 when valid, 1 with every problem listed otherwise, 2 for a wrong command line.
 * Secrets are checked against this shell's environment (NAME or NAME_FILE), as the service would
 * see them; --skip-secrets checks the file alone (in CI, where the secrets are not set).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, loadConfigFile } from '../config/config.loader';

const USAGE = 'Usage: npm run config:check -- [FILE] [--skip-secrets]   (FILE defaults to $CONFIG_FILE, then config/connector.yaml)';

export interface CheckResult {
  code: 0 | 1 | 2;
  /** What goes to stdout (valid) or stderr (problems, usage). */
  out: string;
}

export function runConfigCheck(args: string[], env: NodeJS.ProcessEnv): CheckResult {
  const flags = args.filter((a) => a.startsWith('-'));
  const files = args.filter((a) => !a.startsWith('-'));
  const unknown = flags.filter((f) => f !== '--skip-secrets');
  if (flags.includes('--help') || flags.includes('-h')) return { code: 0, out: USAGE };
  if (unknown.length > 0 || files.length > 1) return { code: 2, out: `${unknown.length ? `Unknown option ${unknown[0]}. ` : 'Give one file. '}${USAGE}` };
  const file = resolve(files.at(0) ?? env.CONFIG_FILE ?? 'config/connector.yaml');
  const secret = flags.includes('--skip-secrets')
    ? undefined
    : (name: string) => {
        const direct = env[name]?.trim();
        if (direct) return direct;
        const path = env[`${name}_FILE`];
        return path && existsSync(path) ? readFileSync(path, 'utf8').trim() || undefined : undefined;
      };
  try {
    const config = loadConfigFile(file, secret);
    const m = config.mappings;
    const connections = Object.entries(config.connections).map(([n, c]) => `${n}: ${c.type}`);
    return {
      code: 0,
      out:
        `${file}: valid. ${connections.length} connection(s) (${connections.join(', ')}); ` +
        `defaults ${m.defaults ? 'set' : 'not set (unmapped extensions are skipped)'}; ` +
        `${Object.keys(m.organisations).length} organisation rule(s); ${Object.keys(m.extensions).length} extension rule(s).` +
        (secret ? '' : ' Secrets not checked (--skip-secrets).'),
    };
  } catch (err) {
    return { code: 1, out: err instanceof ConfigError ? err.message : `${file}: ${(err as Error).message}` };
  }
}

if (require.main === module) {
  const result = runConfigCheck(process.argv.slice(2), process.env);
  if (result.code === 0) console.log(result.out);
  else console.error(result.out);
  process.exitCode = result.code;
}
