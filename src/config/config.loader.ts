import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { Document, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { CrmProviderDefinition, DEFAULT_LOOKUP_TIMEOUT_MS } from '../crm/provider-definition';
import { CRM_PROVIDERS } from '../crm/providers';
import { CONFIG_DEFAULTS, connectionNamed, ConnectorConfig, connectorConfigSchema } from './config.schema';
import { resolveMapping } from '../mappings/resolve-mapping';
import { checkNumberKeys, lineOf } from './yaml-keys';

/** One thing wrong in a file: the key path, what is wrong, and the line when the file has that key. */
export interface ConfigProblem {
  path: string;
  message: string;
  line?: number;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `Invalid configuration in ${file}:\n` +
        problems.map((p) => `  ${p.path || '(top level)'}: ${p.message}${p.line ? ` (line ${p.line})` : ''}`).join('\n') +
        `\nFix the file and start again (or run: npm run config:check -- ${file}).`,
    );
  }
}

/**
 * A document whose aliases expand past a sane size (the "billion laughs" alias bomb): refused
 * before it is expanded, as input nobody could mean as a configuration.
 */
export class ConfigExpansionError extends ConfigError {}

/** Aliases a configuration may expand (yaml's own default is 100, checked only when a document is converted). */
const MAX_ALIAS_COUNT = 100;

/** Looks up a secret by environment-variable name; used to report missing ones before start. */
export type SecretLookup = (name: string) => string | undefined;

/** Validates YAML text; `file` is only used in messages. */
export function parseConfig(text: string, file: string, secret?: SecretLookup): ConnectorConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '',
        message: e.code === 'DUPLICATE_KEY' ? 'this key is written twice in the same map (for an extension: keep one rule)' : e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''),
      })),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    throw new ConfigExpansionError(file, [{ path: '', message: `the document's aliases expand too far (more than ${MAX_ALIAS_COUNT} alias expansions; an alias bomb?)` }]);
  }
  const keyProblems = checkNumberKeys(doc, lines, text);
  const parsed = connectorConfigSchema.safeParse(raw);
  const at = withLines(doc, lines);
  if (!parsed.success || keyProblems.length > 0) {
    // Report the cross-references too (best effort on the raw document), so one run lists every problem.
    let references: ConfigProblem[] = [];
    try {
      references = checkReferences(normaliseRaw(parsed.success ? parsed.data : raw), secret);
    } catch {
      // the raw document is too malformed to follow references
    }
    const problems = [...keyProblems, ...(parsed.success ? [] : describeIssues(parsed.error))];
    throw new ConfigError(file, at([...problems, ...references.filter((r) => !problems.some((p) => p.path === r.path))]));
  }
  const config = parsed.data as ConnectorConfig;
  const problems = checkReferences(config, secret);
  if (problems.length > 0) throw new ConfigError(file, at(problems));
  return config;
}

/** Adds the line of each problem's key (when the file has it): long files need more than a path. */
function withLines(doc: Document, lines: LineCounter) {
  return (problems: (ConfigProblem & { segments?: PropertyKey[] })[]): ConfigProblem[] =>
    problems.map(({ segments, ...p }) => ({ ...p, line: p.line ?? lineOf(doc, lines, segments ?? p.path.split('.')) }));
}

function normaliseRaw(raw: unknown): ConnectorConfig {
  const r = (raw ?? {}) as Partial<ConnectorConfig>;
  const m = (r.mappings ?? {}) as Partial<ConnectorConfig['mappings']>;
  return { ...r, connections: r.connections ?? {}, mappings: { defaults: m.defaults, organisations: m.organisations ?? {}, extensions: m.extensions ?? {} } } as ConnectorConfig;
}

/** What the schema alone cannot see: mappings naming connections that do not exist, secrets not set. */
function checkReferences(config: ConnectorConfig, secret?: SecretLookup): (ConfigProblem & { segments: PropertyKey[] })[] {
  const problems: (ConfigProblem & { segments: PropertyKey[] })[] = [];
  const names = Object.keys(config.connections);
  const known = names.length ? `known connections: ${names.join(', ')}` : 'no connections are defined under "connections"';
  const rules: [string[], { connection?: string } | undefined][] = [
    [['mappings', 'defaults'], config.mappings.defaults],
    ...Object.entries(config.mappings.organisations).map(([k, r]) => [['mappings', 'organisations', k], r] as [string[], typeof r]),
    ...Object.entries(config.mappings.extensions).map(([k, r]) => [['mappings', 'extensions', k], r] as [string[], typeof r]),
  ];
  for (const [segments, rule] of rules) {
    if (rule?.connection && !connectionNamed(config, rule.connection)) {
      problems.push({ path: [...segments, 'connection'].join('.'), segments: [...segments, 'connection'], message: `unknown connection "${rule.connection}" (${known})` });
    }
  }
  problems.push(...checkCapabilities(config));
  problems.push(...checkLookupTimeouts(config));
  if (secret) {
    for (const [name, settings] of Object.entries(config.connections)) {
      const definition = CRM_PROVIDERS.find((p) => p.type === settings.type);
      for (const envName of definition?.secretsOf(settings) ?? []) {
        if (!secret(envName)) {
          problems.push({ path: `connections.${name}`, segments: ['connections', name], message: `environment variable ${envName} (or ${envName}_FILE) is not set` });
        }
      }
    }
  }
  return problems;
}

/**
 * Actions a connection's CRM type cannot carry out (create-contact on a CRM without it), for the
 * settings each rule ends up with: an organisation's unknownCaller can meet an extension's connection.
 */
export function checkCapabilities(config: ConnectorConfig, providers: readonly CrmProviderDefinition[] = CRM_PROVIDERS): (ConfigProblem & { segments: PropertyKey[] })[] {
  const m = config.mappings;
  const problems: (ConfigProblem & { segments: PropertyKey[] })[] = [];
  // An extension key no rule has stands for "any other extension" of that level.
  const effective: [string[], string][] = [
    [['mappings', 'defaults'], '#'],
    ...Object.keys(m.organisations).map((org) => [['mappings', 'organisations', org], `${org}#`] as [string[], string]),
    ...Object.keys(m.extensions).map((ext) => [['mappings', 'extensions', ext], ext] as [string[], string]),
  ];
  for (const [segments, extension] of effective) {
    const resolved = resolveMapping(m, extension);
    const connection = resolved.connection;
    const settings = connection ? connectionNamed(config, connection) : undefined;
    if (!connection || !settings || resolved.actions.unknownCaller !== 'create-contact') continue;
    const definition = providers.find((p) => p.type === settings.type);
    if (definition && !definition.capabilities?.createContact) {
      problems.push({
        path: segments.join('.'),
        segments,
        message: `unknownCaller: create-contact, but connection "${connection}" (${settings.type}) cannot create contacts; use log-without-contact or ignore`,
      });
    }
  }
  return problems;
}

/**
 * A connection's lookup time-out must be above the screen pop's budget: past the budget the card
 * shows "Looking up…" and fills in when the CRM answers, so a search cancelled at (or before) the
 * budget would leave every slow lookup's card unfilled.
 */
function checkLookupTimeouts(config: Omit<ConnectorConfig, 'screenPop'> & { screenPop?: Partial<ConnectorConfig['screenPop']> }): (ConfigProblem & { segments: PropertyKey[] })[] {
  // A file that failed validation is checked as it was written: a budget it leaves out is the default one.
  const budget = config.screenPop?.lookupBudgetMs ?? CONFIG_DEFAULTS.screenPop.lookupBudgetMs;
  return Object.entries(config.connections).flatMap(([name, settings]) => {
    const timeout = (settings as { lookupTimeoutMs?: unknown }).lookupTimeoutMs;
    if (typeof timeout !== 'number' || timeout > budget) return [];
    const segments = ['connections', name, 'lookupTimeoutMs'];
    return [
      {
        path: segments.join('.'),
        segments,
        message: `${timeout} ms is not above screenPop.lookupBudgetMs (${budget} ms): a slower lookup would be cancelled as the card shows "Looking up…", and the card would never fill in; set it well above the budget (default ${DEFAULT_LOOKUP_TIMEOUT_MS})`,
      },
    ];
  });
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

function describeIssues(error: z.ZodError): (ConfigProblem & { segments: PropertyKey[] })[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const segments = issue.path;
    if (issue.code === 'unrecognized_keys') {
      // The line of the first unknown key, not of the object that holds it.
      return { path, segments: [...segments, issue.keys[0]], message: `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` };
    }
    if (issue.code === 'invalid_key') {
      // zod keeps why a record key is wrong one level down; the user needs that, not "Invalid key".
      const inner = issue.issues[0]?.message;
      return { path, segments, message: inner ? `key ${inner}` : issue.message };
    }
    return { path, segments, message: issue.message };
  });
}
