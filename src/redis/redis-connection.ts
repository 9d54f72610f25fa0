import type { RedisOptions as BullRedisOptions } from 'bullmq';
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';

/** Accepted both by ioredis and by BullMQ 6 (whose own option type is looser). */
export type ConnectionOptions = RedisOptions & BullRedisOptions;

/**
 * A connection as the rest of the code holds it: one server (or the Sentinel set's master), or a
 * Redis Cluster. Both speak the same commands, scripts (`defineCommand`), MULTI and pub/sub; on a
 * Cluster a MULTI, pipeline or script must touch one slot, which the hash-tagged REDIS_PREFIX
 * guarantees (every key starts with it).
 */
export type RedisClient = Redis | Cluster;

/**
 * What a connection is for.
 * - `plain`: waits out an outage (commands queue while reconnecting) — workers' helpers, pub/sub.
 * - `fail-fast`: anything on the HTTP request path: commands fail at once while Redis is away
 *   instead of queueing until it returns (the trap that turns an outage into hung requests, not 503s).
 * - `worker`: BullMQ workers block on Redis and must wait out outages (maxRetriesPerRequest null).
 */
export type ConnectionRole = 'plain' | 'fail-fast' | 'worker';

/** Per-site settings a caller may add (the rest comes from REDIS_URL and the role). */
export type ConnectionExtras = Pick<RedisOptions, 'connectionName' | 'autoResubscribe' | 'maxRetriesPerRequest' | 'lazyConnect'>;

/** The one place connections are made: a `Cluster` for redis+cluster://, a `Redis` otherwise. */
export function createRedis(redisUrl: string, role: ConnectionRole, extras: ConnectionExtras = {}): RedisClient {
  if (isClusterUrl(redisUrl)) {
    const { nodes, options } = clusterOptions(redisUrl, role, extras);
    return new Cluster(nodes, options);
  }
  return new Redis({ ...roleOptions(redisUrl, role), ...extras });
}

/** ioredis options for a REDIS_URL that names one server or a Sentinel set (not a Cluster: see clusterOptions). */
function roleOptions(redisUrl: string, role: ConnectionRole): ConnectionOptions {
  if (role === 'fail-fast') return failFastOptions(redisUrl);
  if (role === 'worker') return workerOptions(redisUrl);
  return redisOptions(redisUrl);
}

/**
 * ioredis options from REDIS_URL (redis://user:pass@host:port/db, rediss:// for TLS, or
 * redis+sentinel://user:pass@host1:26379,host2:26379/mymaster/db: see sentinelOptions).
 * A Cluster URL has no single-connection options: use createRedis.
 */
export function redisOptions(redisUrl: string): ConnectionOptions {
  if (redisUrl.startsWith(SENTINEL_SCHEME)) return sentinelOptions(redisUrl);
  if (isClusterUrl(redisUrl)) throw new Error('a Redis Cluster URL gives a Cluster client, not single-server options: use createRedis()');
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
    retryStrategy: reconnectDelay,
  };
}

const reconnectDelay = (times: number) => Math.min(times * 100, 1000);

/** Checks that REDIS_URL can be turned into connections; throws an Error saying what is wrong (env.ts shows it at start-up). */
export function validateRedisUrl(redisUrl: string): void {
  if (isClusterUrl(redisUrl)) parseClusterUrl(redisUrl);
  else redisOptions(redisUrl);
}

export const SENTINEL_SCHEME = 'redis+sentinel://';
export const CLUSTER_SCHEMES = ['redis+cluster://', 'rediss+cluster://'] as const;

export function isClusterUrl(redisUrl: string): boolean {
  return CLUSTER_SCHEMES.some((s) => redisUrl.startsWith(s));
}

/** `[user[:pass]@]` of a URL parsed by hand, percent-decoded. */
function credentials(auth: string | undefined): { username?: string; password?: string } {
  const colon = auth?.indexOf(':') ?? -1;
  const user = auth ? decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : auth) : '';
  const pass = auth && colon >= 0 ? decodeURIComponent(auth.slice(colon + 1)) : '';
  return { username: user || undefined, password: pass || undefined };
}

/** `host1:port,host2,[v6]:port` → addresses; `what` names them in the error ("sentinel", "cluster node"). */
function hostList(hosts: string, defaultPort: number, what: string): { host: string; port: number }[] {
  return hosts.split(',').map((h) => {
    const hp = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(h.trim());
    const port = hp?.[2] ? Number(hp[2]) : defaultPort;
    if (!hp || port < 1 || port > 65535) throw new Error(`${what} address "${h}" is not host[:port]`);
    return { host: hp[1].replace(/^\[|\]$/g, ''), port };
  });
}

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
  const [, auth, hosts, path, query] = m as unknown as [string, string | undefined, string, string, string | undefined];
  const sentinels = hostList(hosts, 26379, 'sentinel');
  const [name = '', db = '0', ...rest] = path.split('/').slice(1);
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error('the master name (first path segment, as in `sentinel monitor <name>`) is missing or invalid');
  if (!/^\d{1,2}$/.test(db) || rest.length) throw new Error('after the master name only a database number may follow (/mymaster/0)');
  const params = new URLSearchParams(query ?? '');
  for (const key of params.keys()) {
    if (key !== 'sentinelPassword' && key !== 'sentinelUsername') throw new Error(`unknown parameter "${key}" (sentinelUsername, sentinelPassword)`);
  }
  return {
    sentinels,
    name,
    db: Number(db),
    ...credentials(auth),
    sentinelUsername: params.get('sentinelUsername') ?? undefined,
    sentinelPassword: params.get('sentinelPassword') ?? undefined,
    // No failoverDetector: in ioredis 6.0 its subscriptions to the sentinels outlive quit(), so a
    // stopped connector would never exit (ioredis#1362). A client still follows a failover: its
    // master's connection breaks (a dead master, or Sentinel's CLIENT KILL on a demoted one) and it
    // asks the sentinels again until they name the promoted replica.
    connectTimeout: 2000,
    retryStrategy: reconnectDelay,
    sentinelRetryStrategy: reconnectDelay,
  };
}

/**
 * Cluster: `redis+cluster://[user:pass@]host1:7000,host2:7001` (`rediss+cluster://` for TLS). The
 * nodes are only where to start: ioredis reads the slot map from the first that answers and
 * follows it (and MOVED/ASK). A Cluster has database 0 only, so no path; no parameters either.
 */
function parseClusterUrl(redisUrl: string): { nodes: { host: string; port: number }[]; username?: string; password?: string; tls: boolean } {
  const m = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/.exec(redisUrl);
  if (!m) throw new Error('expected redis+cluster://[user:pass@]host1:port,host2:port (rediss+cluster:// for TLS)');
  const [, scheme, auth, hosts, path, query] = m as unknown as [string, string, string | undefined, string, string | undefined, string | undefined];
  const nodes = hostList(hosts, 6379, 'cluster node');
  if (path && path !== '/') throw new Error('a Redis Cluster has only database 0: nothing may follow the node list but "/"');
  const params = [...new URLSearchParams(query ?? '').keys()];
  if (params.length) throw new Error(`unknown parameter "${params[0]}" (a cluster URL takes none)`);
  return { nodes, ...credentials(auth), tls: scheme === 'rediss' };
}

/**
 * A Cluster URL's nodes in its order, and the options of a plain connection to one of them (with
 * `host` and `port` from the list): for a pub/sub subscriber that picks its node itself (a
 * non-sharded PUBLISH reaches the subscribers of every node of a cluster; see UpdateHub).
 */
export function clusterNodeOptions(redisUrl: string): { nodes: { host: string; port: number }[]; options: ConnectionOptions } {
  const { nodes, username, password, tls } = parseClusterUrl(redisUrl);
  return { nodes, options: { username, password, tls: tls ? {} : undefined, connectTimeout: 2000, retryStrategy: reconnectDelay } };
}

/** The Cluster client's settings for a role: what redisOptions/failFastOptions/workerOptions are for one server. */
export function clusterOptions(redisUrl: string, role: ConnectionRole, extras: ConnectionExtras = {}): { nodes: { host: string; port: number }[]; options: ClusterOptions } {
  const { nodes, username, password, tls } = parseClusterUrl(redisUrl);
  const { lazyConnect, ...nodeExtras } = extras;
  const failFast = role === 'fail-fast';
  return {
    nodes,
    options: {
      lazyConnect,
      // Reconnect forever (all nodes lost), never waiting long between tries. A node that dies is
      // dropped from the pool (ioredis' default: no per-node retries); a command for its slots is
      // redirected (MOVED) back to it and reconnects it once it answers again.
      clusterRetryStrategy: reconnectDelay,
      // The request path fails at once while the cluster is not connected or is down (CLUSTERDOWN:
      // a slot without a master); the others wait and retry.
      enableOfflineQueue: !failFast,
      ...(failFast ? { retryDelayOnClusterDown: 0 } : {}),
      enableAutoPipelining: failFast,
      redisOptions: {
        username,
        password,
        tls: tls ? {} : undefined,
        connectTimeout: 2000,
        ...(failFast ? { maxRetriesPerRequest: 1, commandTimeout: 1500 } : {}),
        ...(role === 'worker' ? { maxRetriesPerRequest: null } : {}),
        ...nodeExtras,
      },
    },
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

/**
 * Whether a key prefix keeps every key in one Cluster slot: it must hold a non-empty hash tag,
 * `{...}`. Redis hashes only what is between the first `{` and the next `}` when that is not
 * empty, and every key starts with the prefix, so all of them hash alike.
 */
export function isHashTagged(prefix: string): boolean {
  const open = prefix.indexOf('{');
  const close = open < 0 ? -1 : prefix.indexOf('}', open + 1);
  return close > open + 1;
}

/**
 * Resolves when Redis takes commands for `key`. On a Cluster, PING is answered by any node, even
 * while `key`'s slot has no master and every keyed command gets CLUSTERDOWN: ask in the slot.
 */
export async function pingSlotOf(client: RedisClient, key: string): Promise<void> {
  if (client instanceof Cluster) await client.exists(key);
  else await client.ping();
}

/**
 * Every key matching `pattern`, by SCAN (never KEYS): on a Cluster, on every master, since each
 * holds only its own slots. The slot map is read again first: a Cluster client drops a node whose
 * connection broke and takes it back only when a command is redirected to it.
 */
export async function scanKeys(client: RedisClient, pattern: string): Promise<string[]> {
  if (client instanceof Cluster) await new Promise<void>((resolve, reject) => client.refreshSlotsCache((err) => (err ? reject(err) : resolve())));
  const servers = client instanceof Cluster ? client.nodes('master') : [client];
  const keys: string[] = [];
  for (const server of servers) {
    let cursor = '0';
    do {
      const [next, batch] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  return keys;
}
