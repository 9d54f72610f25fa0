import type { RedisOptions as BullRedisOptions } from 'bullmq';
import type { RedisOptions } from 'ioredis';

/** Accepted both by ioredis and by BullMQ 6 (whose own option type is looser). */
export type ConnectionOptions = RedisOptions & BullRedisOptions;

/** ioredis options from REDIS_URL (redis://user:pass@host:port/db, rediss:// for TLS). */
export function redisOptions(redisUrl: string): ConnectionOptions {
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
