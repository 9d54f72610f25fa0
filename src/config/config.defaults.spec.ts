import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CRM_PROVIDERS } from '../crm/providers';
import { parseConfig } from './config.loader';
import { AppEnv, readEnv } from './env';

/**
 * The defaults the docs state are the ones the code applies: each row of a defaults table in
 * docs/configuration.md (and each `key` (`default`) of a CRM type in docs/crm-providers.md) is
 * compared with what parsing an empty configuration or environment gives.
 */
const docs = (name: string) => readFileSync(join(__dirname, '../../docs', name), 'utf8');

/** `| \`key\` | default | …` rows: the key and the default cell, backticks removed. */
function tableRows(markdown: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const m of markdown.matchAll(/^\| `([^`]+)` \| ([^|]*) \|/gm)) rows.set(m[1], m[2].trim());
  return rows;
}

/** A documented default, as the code holds it: `8000` → 8000, `` `on` `` → 'on', `` `vncc` (`{vncc}` on a Cluster) `` → 'vncc'. */
function documented(cell: string): unknown {
  const quoted = /^`([^`]*)`/.exec(cell);
  const text = quoted ? quoted[1] : cell;
  if (text === 'true' || text === 'false') return text === 'true';
  return /^\d+$/.test(text) ? Number(text) : text;
}

function at(value: unknown, path: string[]): unknown {
  return path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], value);
}

describe('documented defaults', () => {
  it('docs/configuration.md states the YAML defaults the schema applies', () => {
    const config = parseConfig(
      [
        'connections:',
        '  NAME:',
        '    type: hubspot',
        '    auth: { flow: private-app, tokenEnv: HS_TOKEN }',
        '  sf:',
        '    type: salesforce',
        '    auth: { flow: client-credentials, clientId: app, clientSecretEnv: SF_SECRET }',
      ].join('\n'),
      'connector.yaml',
    );
    const rows = [...tableRows(docs('configuration.md'))].filter(([key, cell]) => /^[a-z]/.test(key) && key.includes('.') && /^`?[\w.-]+`?$/.test(cell));
    expect(rows.map(([key]) => key)).toEqual(
      expect.arrayContaining(['calls.hangupSettleMs', 'workers.lockDurationMs', 'screenPop.lookupBudgetMs', 'connections.NAME.lookupTimeoutMs', 'connections.NAME.batch.lingerMs']),
    );
    for (const [key, cell] of rows) {
      expect({ key, value: at(config, key.split('.')) }).toEqual({ key, value: documented(cell) });
    }
    // The other CRM type with lookups has the same default.
    expect(config.connections.sf).toMatchObject({ lookupTimeoutMs: documented(tableRows(docs('configuration.md')).get('connections.NAME.lookupTimeoutMs')!) });
  });

  it('docs/configuration.md states the environment defaults readEnv applies', () => {
    const env = readEnv({ INGEST_TOKEN: 'ingest', ADMIN_TOKEN: 'admin', AGENT_LINK_SECRET: 'link' });
    const read: Record<string, (e: AppEnv) => unknown> = {
      PORT: (e) => e.port,
      HOST: (e) => e.host,
      ROLE: (e) => e.role,
      REDIS_URL: (e) => e.redisUrl,
      REDIS_PREFIX: (e) => e.redisPrefix,
      CONFIG_FILE: (e) => e.configFile,
      TRUST_PROXY: (e) => e.trustProxy,
      AGENT_STREAMS_PER_LINK: (e) => e.agentStreams.perLink,
      AGENT_STREAMS_PER_ADDRESS: (e) => e.agentStreams.perAddress,
      AGENT_STREAMS_MAX: (e) => e.agentStreams.total,
      BODY_LIMIT_BYTES: (e) => e.bodyLimitBytes,
      REQUEST_TIMEOUT_MS: (e) => e.requestTimeoutMs,
      AUTH_FAILURES_PER_MINUTE: (e) => e.authFailuresPerMinute,
      LOG_LEVEL: (e) => e.logLevel,
      LOG_FULL_NUMBERS: (e) => e.logFullNumbers,
      ADMIN_CONFIG_EDITING: (e) => (e.adminConfigEditing ? 'on' : 'off'),
      ADMIN_FULL_NUMBERS: (e) => e.adminFullNumbers,
      SECRETS_DIR: (e) => e.secretsDir,
      SPOOL_DIR: (e) => e.spool.dir,
      SPOOL_MAX_MB: (e) => e.spool.maxBytes / (1024 * 1024),
      SPOOL_REPLAY_PER_SECOND: (e) => e.spool.replayPerSecond,
    };
    const paths = new Set(['CONFIG_FILE', 'SECRETS_DIR', 'SPOOL_DIR']);
    const rows = tableRows(docs('configuration.md'));
    for (const [name, value] of Object.entries(read)) {
      expect({ name, documented: rows.has(name) }).toEqual({ name, documented: true });
      const stated = documented(rows.get(name)!);
      expect({ name, value: value(env) }).toEqual({ name, value: paths.has(name) ? resolve(String(stated)) : stated });
    }
  });

  it('docs/crm-providers.md states the defaults of each CRM type', () => {
    const minimal: Record<string, Record<string, unknown>> = {
      file: { contactsCsv: 'contacts.csv', callLogFile: 'calls.jsonl' },
      hubspot: { auth: { flow: 'private-app', tokenEnv: 'HS_TOKEN' } },
      salesforce: { auth: { flow: 'client-credentials', clientId: 'app', clientSecretEnv: 'SF_SECRET' } },
    };
    for (const provider of CRM_PROVIDERS) {
      const row = [...docs('crm-providers.md').matchAll(/^\| `(\w+)` \|.*\| (.*) \|$/gm)].find((m) => m[1] === provider.type)?.[2];
      expect({ type: provider.type, documented: row !== undefined }).toEqual({ type: provider.type, documented: true });
      const parsed = provider.settings.parse({ type: provider.type, ...minimal[provider.type] }) as Record<string, unknown>;
      const stated = [...row!.matchAll(/`(\w+)` \((?:`([^`]*)`|(\d+))\)/g)].map((m) => [m[1], (m[2] as string | undefined) ?? Number(m[3])] as const);
      expect(stated.length).toBeGreaterThan(0);
      for (const [key, value] of stated) expect({ type: provider.type, key, value: parsed[key] }).toEqual({ type: provider.type, key, value: value === 'false' ? false : value });
      // Every default the schema sets is stated.
      const defaulted = Object.keys(parsed).filter((k) => parsed[k] !== undefined && minimal[provider.type][k] === undefined && k !== 'type');
      expect({ type: provider.type, keys: stated.map(([k]) => k).sort() }).toEqual({ type: provider.type, keys: defaulted.sort() });
    }
  });
});
