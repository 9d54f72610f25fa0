import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { isClusterUrl, isHashTagged, validateRedisUrl } from '../redis/redis-connection';

export const ROLES = ['all', 'api', 'worker'] as const;
export type Role = (typeof ROLES)[number];

/** Everything the process reads from its environment, read once at start (nothing else touches process.env). */
export interface AppEnv {
  production: boolean;
  port: number;
  host: string;
  role: Role;
  redisUrl: string;
  /** Prefix of every Redis key; on a Redis Cluster a hash tag (`{vncc}`, the default there) so every key shares one slot. */
  redisPrefix: string;
  configFile: string;
  logLevel: string;
  /** Phone numbers are masked in logs unless ops explicitly turn that off. */
  logFullNumbers: boolean;
  ingestTokens: string[];
  ingestAllowCidrs: string[];
  adminToken: string;
  /** Mapping rules can be edited through the admin API and console (off where the config is managed in git). */
  adminConfigEditing: boolean;
  /** The admin API and console show callers' numbers in full (else masked like the logs). */
  adminFullNumbers: boolean;
  /** HMAC key that signs agent screen-pop links. */
  agentLinkSecret: string;
  /**
   * Which proxies' X-Forwarded-For entries are believed: false (none: the client is the TCP
   * peer), a number of proxy hops in front of the connector, or the proxies' addresses/CIDRs.
   * Never "all": the left-most entry is whatever the client wrote.
   */
  trustProxy: false | number | string[];
  /** The origin (and path prefix) agents and ops reach the connector at, for the links it mints. */
  publicUrl?: string;
  /** Open agent streams allowed per link, per source address, and in all (each holds a socket and ~18 KiB). */
  agentStreams: { perLink: number; perAddress: number; total: number };
  bodyLimitBytes: number;
  /** A source address that sends this many wrong tokens in a minute is refused (429) for a minute. */
  authFailuresPerMinute: number;
  /** Time a client has to send a whole request: slow (slow-loris) senders are cut off. */
  requestTimeoutMs: number;
  /** Where generated development secrets are kept (outside git). */
  secretsDir: string;
  /** The secrets this development start read from (or generated into) secretsDir, for the start-up line. */
  generatedSecrets: string[];
  /** The ingest's local spool for events Redis cannot take (see src/spool/); maxBytes 0 turns it off. */
  spool: { dir: string; maxBytes: number; replayPerSecond: number };
  /**
   * Reads a secret that config refers to by name (`clientSecretEnv: SF_CLIENT_SECRET`): the
   * variable itself, or the file named by NAME_FILE. Undefined when neither is set.
   */
  secret: (name: string) => string | undefined;
}

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

const fields = z.object({
  NODE_ENV: z.string().optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  ROLE: z.enum(ROLES).default('all'),
  REDIS_URL: z
    .string()
    .regex(/^(rediss?|redis\+sentinel|rediss?\+cluster):\/\//, 'must start with redis://, rediss://, redis+sentinel:// or redis+cluster://')
    .superRefine(redisUrlParses)
    .default('redis://127.0.0.1:6379'),
  // Default: vncc, or {vncc} on a Redis Cluster (see readEnv).
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}.-]{1,64}$/, 'letters, digits, _ . - and braces only')
    .optional(),
  CONFIG_FILE: z.string().min(1).default('config/connector.yaml'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FULL_NUMBERS: bool.default(false),
  ADMIN_CONFIG_EDITING: z.enum(['on', 'off']).default('on'),
  ADMIN_FULL_NUMBERS: bool.default(false),
  INGEST_ALLOW_CIDRS: z.string().default(''),
  TRUST_PROXY: z
    .string()
    .trim()
    .default('false')
    .transform((v, ctx) => parseTrustProxy(v, ctx)),
  PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'must be the http(s) URL agents reach the connector at, e.g. https://connector.example.com' })
    .refine((u) => !/[?#]/.test(u), 'must not hold a query or fragment')
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  AGENT_STREAMS_PER_LINK: z.coerce.number().int().min(1).default(10),
  AGENT_STREAMS_PER_ADDRESS: z.coerce.number().int().min(1).default(500),
  AGENT_STREAMS_MAX: z.coerce.number().int().min(1).default(5000),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(10 * 1024 * 1024)
    .default(64 * 1024),
  SECRETS_DIR: z.string().min(1).default('var/secrets'),
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).default(30),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(500).max(120_000).default(10_000),
  SPOOL_DIR: z.string().min(1).default('var/spool'),
  SPOOL_MAX_MB: z.coerce
    .number()
    .min(0)
    .max(1024 * 1024)
    .default(256),
  SPOOL_REPLAY_PER_SECOND: z.coerce.number().int().min(1).max(100_000).default(1000),
});

/**
 * On a Redis Cluster every key must hash to one slot: BullMQ's scripts and ours touch several keys
 * at once (CROSSSLOT otherwise), and a script may only touch keys of one slot. A prefix without a
 * hash tag is refused rather than wrapped in one, so the keys are always named as configured.
 */
const schema = fields.superRefine((e, ctx) => {
  if (e.REDIS_PREFIX !== undefined && isClusterUrl(e.REDIS_URL) && !isHashTagged(e.REDIS_PREFIX)) {
    ctx.addIssue({
      code: 'custom',
      path: ['REDIS_PREFIX'],
      message: `on a Redis Cluster (REDIS_URL=redis+cluster://) the prefix must be a hash tag so every key lands in one slot: use {${e.REDIS_PREFIX.replace(/[{}]/g, '') || 'vncc'}}`,
    });
  }
});

export class EnvError extends Error {}

/** proxy-addr's names for address ranges, accepted next to addresses and CIDRs. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY: `false`; `true` (exactly one proxy in front: the client is the address it saw);
 * a number of hops; or the proxies' addresses/CIDRs. A client writes whatever it likes at the
 * left of X-Forwarded-For, so only entries added by trusted proxies, counted from the right, are used.
 */
function parseTrustProxy(value: string, ctx: z.RefinementCtx): false | number | string[] {
  const v = value.toLowerCase();
  if (['false', '0', 'no', ''].includes(v)) return false;
  if (['true', 'yes'].includes(v)) return 1;
  if (/^\d+$/.test(v)) return Math.min(Number(v), 10);
  const entries = splitList(value);
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/') as [string, string?, string?];
    const family = isIP(address);
    const prefixOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (!PROXY_RANGE_NAMES.has(entry) && (family === 0 || !prefixOk || extra !== undefined)) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" is not true/false, a number of proxy hops, or a proxy address/CIDR (e.g. 10.0.0.0/8,loopback)` });
      return z.NEVER;
    }
  }
  return entries;
}

/** A REDIS_URL the connections could not be built from is a start-up error, not a crash at the first connection. */
function redisUrlParses(url: string, ctx: z.RefinementCtx): void {
  try {
    validateRedisUrl(url);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): AppEnv {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new EnvError(`Invalid environment:\n${lines.join('\n')}\nFix these variables and start again.`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const secretsDir = resolve(e.SECRETS_DIR);
  const secrets = readSecrets(env, ['INGEST_TOKEN', 'ADMIN_TOKEN', 'AGENT_LINK_SECRET'], { production, secretsDir });
  const ingestTokens = splitList(secrets.INGEST_TOKEN);
  if (production) checkSecretStrength(ingestTokens, secrets.ADMIN_TOKEN, splitList(secrets.AGENT_LINK_SECRET));
  return {
    production,
    port: e.PORT,
    host: e.HOST,
    role: e.ROLE,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX ?? (isClusterUrl(e.REDIS_URL) ? '{vncc}' : 'vncc'),
    configFile: resolve(e.CONFIG_FILE),
    logLevel: e.LOG_LEVEL,
    logFullNumbers: e.LOG_FULL_NUMBERS,
    ingestTokens,
    ingestAllowCidrs: splitList(e.INGEST_ALLOW_CIDRS),
    adminToken: secrets.ADMIN_TOKEN,
    adminConfigEditing: e.ADMIN_CONFIG_EDITING === 'on',
    adminFullNumbers: e.ADMIN_FULL_NUMBERS,
    agentLinkSecret: secrets.AGENT_LINK_SECRET,
    trustProxy: e.TRUST_PROXY,
    // Development without PUBLIC_URL: the listening address, set once the port is known (bootstrap).
    publicUrl: e.PUBLIC_URL,
    agentStreams: { perLink: e.AGENT_STREAMS_PER_LINK, perAddress: e.AGENT_STREAMS_PER_ADDRESS, total: e.AGENT_STREAMS_MAX },
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    authFailuresPerMinute: e.AUTH_FAILURES_PER_MINUTE,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    secretsDir,
    generatedSecrets: production ? [] : Object.keys(secrets).filter((name) => !env[name]?.trim() && !env[`${name}_FILE`]),
    spool: { dir: resolve(e.SPOOL_DIR), maxBytes: Math.round(e.SPOOL_MAX_MB * 1024 * 1024), replayPerSecond: e.SPOOL_REPLAY_PER_SECOND },
    secret: secretLookup(env),
  };
}

/** Reads a secret that config refers to by name: the variable, or the file NAME_FILE names; undefined when neither is set. */
export function secretLookup(env: NodeJS.ProcessEnv): (name: string) => string | undefined {
  return (name) => {
    const direct = env[name]?.trim();
    if (direct) return direct;
    const file = env[`${name}_FILE`];
    if (!file) return undefined;
    try {
      return readFileSync(file, 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  };
}

/** Every secret read, and every one that cannot be reported together: a start that fails on the first hides the next. */
function readSecrets<N extends string>(env: NodeJS.ProcessEnv, names: N[], opts: { production: boolean; secretsDir: string }): Record<N, string> {
  const values = {} as Record<N, string>;
  const problems: string[] = [];
  for (const name of names) {
    try {
      values[name] = readSecret(env, name, opts);
    } catch (err) {
      if (!(err instanceof EnvError)) throw err;
      problems.push(err.message);
    }
  }
  if (problems.length === 1) throw new EnvError(problems[0]);
  if (problems.length > 1) throw new EnvError(`Secrets missing or unreadable:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return values;
}

/** Shortest secret accepted in production: a guessable token opens the admin API or lets anyone post events. */
export const MIN_SECRET_LENGTH = 16;

/** Production refuses short secrets and an admin token that is also an ingest token (the ingest one sits in VoipNow's URLs). */
function checkSecretStrength(ingestTokens: string[], adminToken: string, linkSecrets: string[]): void {
  const problems: string[] = [];
  const short = (name: string, values: string[]) => {
    if (values.some((v) => v.length < MIN_SECRET_LENGTH)) problems.push(`${name} is shorter than ${MIN_SECRET_LENGTH} characters${values.length > 1 ? ' (one of its comma-separated values)' : ''}.`);
  };
  short('INGEST_TOKEN', ingestTokens);
  short('ADMIN_TOKEN', [adminToken]);
  short('AGENT_LINK_SECRET', linkSecrets);
  if (ingestTokens.includes(adminToken))
    problems.push('ADMIN_TOKEN is the same as an INGEST_TOKEN: the ingest token is written into every URL configured in VoipNow, so it must not open the admin API.');
  if (problems.length > 0) {
    throw new EnvError(`Weak secrets refused in production:\n${problems.map((p) => `  ${p}`).join('\n')}\nGenerate each with e.g.: openssl rand -base64 32`);
  }
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

/**
 * A secret comes from NAME, or from the file named by NAME_FILE (Docker/Kubernetes secrets).
 * Outside production a missing secret is generated once and kept in SECRETS_DIR (mode 0600),
 * so the quickstart runs without setup and the value never has to be printed to a log.
 */
export function readSecret(env: NodeJS.ProcessEnv, name: string, opts: { production: boolean; secretsDir: string }): string {
  const direct = env[name]?.trim();
  if (direct) return direct;
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      const value = readFileSync(file, 'utf8').trim();
      if (value) return value;
    } catch (err) {
      throw new EnvError(`${name}_FILE=${file} cannot be read (${(err as Error).message}).`);
    }
    throw new EnvError(`${name}_FILE=${file} is empty.`);
  }
  if (opts.production) {
    throw new EnvError(`${name} is not set. In production set ${name} or ${name}_FILE; secrets never live in config files.`);
  }
  const path = resolve(opts.secretsDir, name);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const value = randomBytes(24).toString('base64url');
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return value;
}
