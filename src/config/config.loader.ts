import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { CRM_PROVIDERS } from '../crm/providers';
import { ConnectorConfig, connectorConfigSchema } from './config.schema';

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: { path: string; message: string }[],
  ) {
    super(
      `Invalid configuration in ${file}:\n` +
        problems.map((p) => `  ${p.path || '(top level)'}: ${p.message}`).join('\n') +
        `\nFix the file and start again (or run: npm run config:check -- ${file}).`,
    );
  }
}

/** Looks up a secret by environment-variable name; used to report missing ones before start. */
export type SecretLookup = (name: string) => string | undefined;

/** Validates YAML text; `file` is only used in messages. */
export function parseConfig(text: string, file: string, secret?: SecretLookup): ConnectorConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '',
        message: e.message.split('\n')[0],
      })),
    );
  }
  const raw = doc.toJS() ?? {};
  const parsed = connectorConfigSchema.safeParse(raw);
  if (!parsed.success) {
    // Report the cross-references too (best effort on the raw document), so one run lists every problem.
    let references: { path: string; message: string }[] = [];
    try {
      references = checkReferences(normaliseRaw(raw), secret);
    } catch {
      // the raw document is too malformed to follow references
    }
    const problems = describeIssues(parsed.error);
    throw new ConfigError(file, [...problems, ...references.filter((r) => !problems.some((p) => p.path === r.path))]);
  }
  const config = parsed.data as ConnectorConfig;
  const problems = checkReferences(config, secret);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return config;
}

function normaliseRaw(raw: unknown): ConnectorConfig {
  const r = (raw ?? {}) as Partial<ConnectorConfig>;
  const m = (r.mappings ?? {}) as Partial<ConnectorConfig['mappings']>;
  return { ...r, connections: r.connections ?? {}, mappings: { defaults: m.defaults, organisations: m.organisations ?? {}, extensions: m.extensions ?? {} } } as ConnectorConfig;
}

/** What the schema alone cannot see: mappings naming connections that do not exist, secrets not set. */
function checkReferences(config: ConnectorConfig, secret?: SecretLookup): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const names = Object.keys(config.connections);
  const known = names.length ? `known connections: ${names.join(', ')}` : 'no connections are defined under "connections"';
  const rules: [string, { connection?: string } | undefined][] = [
    ['mappings.defaults', config.mappings.defaults],
    ...Object.entries(config.mappings.organisations).map(([k, r]) => [`mappings.organisations.${k}`, r] as [string, typeof r]),
    ...Object.entries(config.mappings.extensions).map(([k, r]) => [`mappings.extensions.${k}`, r] as [string, typeof r]),
  ];
  for (const [path, rule] of rules) {
    if (rule?.connection && !config.connections[rule.connection]) {
      problems.push({ path: `${path}.connection`, message: `unknown connection "${rule.connection}" (${known})` });
    }
  }
  if (secret) {
    for (const [name, settings] of Object.entries(config.connections)) {
      const definition = CRM_PROVIDERS.find((p) => p.type === settings.type);
      for (const envName of definition?.secrets(settings as never) ?? []) {
        if (!secret(envName)) {
          problems.push({ path: `connections.${name}`, message: `environment variable ${envName} (or ${envName}_FILE) is not set` });
        }
      }
    }
  }
  return problems;
}

export function loadConfigFile(path: string, secret?: SecretLookup): ConnectorConfig {
  const shown = relative(process.cwd(), path) || path;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(shown, [{ path: '', message: `cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set CONFIG_FILE to your configuration` }]);
  }
  return parseConfig(text, shown, secret);
}

function describeIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return { path, message: `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` };
    }
    if (issue.code === 'invalid_key') {
      // zod keeps why a record key is wrong one level down; the user needs that, not "Invalid key".
      const inner = issue.issues[0]?.message;
      return { path, message: inner ? `key ${inner}` : issue.message };
    }
    return { path, message: issue.message };
  });
}
