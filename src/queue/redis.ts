import type { RedisOptions as BullRedisOptions } from 'bullmq';
import type { RedisOptions } from 'ioredis';

/** Accepted both by ioredis and by BullMQ 6 (whose own option type is looser). */
export type ConnectionOptions = RedisOptions & BullRedisOptions;

/**
 * ioredis options from REDIS_URL (redis://user:pass@host:port/db, rediss:// for TLS, or
 * redis+sentinel://user:pass@host1:26379,host2:26379/mymaster/db: see sentinelOptions).
 */
export function redisOptions(redisUrl: string): ConnectionOptions {
  if (redisUrl.startsWith(SENTINEL_SCHEME)) return sentinelOptions(redisUrl);
  const url = new URL(redisUrl);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : 6379,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: Number.isInteger(db) ? db : 0,
    tls: url.protocol === 'rediss:' ? {} : undefined,
    connectTimeout: 2000,
    // Reconnect forever, but never wait long between tries: a restarted Redis is used within a second.
    retryStrategy: (times) => Math.min(times * 100, 1000),
  };
}

export const SENTINEL_SCHEME = 'redis+sentinel://';

/**
 * Sentinel: ioredis asks the sentinels which server is the master of `mymaster` (and asks again
 * whenever its connection breaks). user:pass are the
 * Redis servers' (AUTH); sentinels that require a password of their own take it from the query,
 * `?sentinelPassword=...` (and `sentinelUsername`). A `new URL()` cannot parse a host list, hence
 * the hand parsing. Throws an Error saying what is wrong: env.ts shows it as a start-up error.
 */
function sentinelOptions(redisUrl: string): ConnectionOptions {
  const m = /^redis\+sentinel:\/\/(?:([^@/]*)@)?([^/?#]*)((?:\/[^/?#]*)*)(?:\?([^#]*))?$/.exec(redisUrl);
  if (!m) throw new Error(`expected ${SENTINEL_SCHEME}[user:pass@]host1:26379,host2:26379/<master name>[/db]`);
  const [, auth, hosts, path, query] = m;
  const sentinels = hosts.split(',').map((h) => {
    const hp = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(h.trim());
    const port = hp?.[2] ? Number(hp[2]) : 26379;
    if (!hp || port < 1 || port > 65535) throw new Error(`sentinel address "${h}" is not host[:port]`);
    return { host: hp[1].replace(/^\[|\]$/g, ''), port };
  });
  const [name = '', db = '0', ...rest] = path.split('/').slice(1);
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error('the master name (first path segment, as in `sentinel monitor <name>`) is missing or invalid');
  if (!/^\d{1,2}$/.test(db) || rest.length) throw new Error('after the master name only a database number may follow (/mymaster/0)');
  const params = new URLSearchParams(query ?? '');
  for (const key of params.keys()) {
    if (key !== 'sentinelPassword' && key !== 'sentinelUsername') throw new Error(`unknown parameter "${key}" (sentinelUsername, sentinelPassword)`);
  }
  const colon = auth?.indexOf(':') ?? -1;
  const user = auth ? decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : auth) : '';
  const pass = auth && colon >= 0 ? decodeURIComponent(auth.slice(colon + 1)) : '';
  return {
    sentinels,
    name,
    db: Number(db),
    username: user || undefined,
    password: pass || undefined,
    sentinelUsername: params.get('sentinelUsername') ?? undefined,
    sentinelPassword: params.get('sentinelPassword') ?? undefined,
    // No failoverDetector: in ioredis 6.0 its subscriptions to the sentinels outlive quit(), so a
    // stopped connector would never exit (ioredis#1362). A client still follows a failover: its
    // master's connection breaks (a dead master, or Sentinel's CLIENT KILL on a demoted one) and it
    // asks the sentinels again until they name the promoted replica.
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 100, 1000),
    sentinelRetryStrategy: (times) => Math.min(times * 100, 1000),
  };
}

/**
 * For anything on the HTTP request path: commands fail at once while Redis is away instead of
 * queueing until it returns (the trap that turns an outage into hung requests, not 503s).
 */
export function failFastOptions(redisUrl: string): ConnectionOptions {
  return {
    ...redisOptions(redisUrl),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1500,
    // Commands issued in the same tick go out in one socket write: under load most of the ingest
    // path's CPU was one write() syscall per command (see bench/ingest.mjs).
    enableAutoPipelining: true,
  };
}

/** Workers block on Redis and must wait out outages: BullMQ requires maxRetriesPerRequest null for them. */
export function workerOptions(redisUrl: string): ConnectionOptions {
  return { ...redisOptions(redisUrl), maxRetriesPerRequest: null };
}
