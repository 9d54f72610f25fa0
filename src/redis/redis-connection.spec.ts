import Redis, { Cluster } from 'ioredis';
import { EnvError, readEnv } from '../config/env';
import { clusterOptions, createRedis, failFastOptions, isHashTagged, redisOptions, workerOptions } from './redis-connection';

/** Env values readEnv needs besides REDIS_URL (secrets given, so nothing is generated on disk). */
const ENV = { INGEST_TOKEN: 'i-token-0123456789abcdef', ADMIN_TOKEN: 'a-token-0123456789abcdef', AGENT_LINK_SECRET: 'l-secret-0123456789abcdef', NODE_ENV: 'production' };

function startupError(url: string, extra: Record<string, string> = {}): string {
  try {
    readEnv({ ...ENV, REDIS_URL: url, ...extra });
  } catch (err) {
    expect(err).toBeInstanceOf(EnvError);
    return (err as Error).message;
  }
  throw new Error(`REDIS_URL=${url} was accepted`);
}

describe('redisOptions', () => {
  it('redis:// and rediss:// give one server, as before', () => {
    expect(redisOptions('redis://u%40x:p%3Aw@redis.internal:6380/3')).toMatchObject({
      host: 'redis.internal',
      port: 6380,
      username: 'u@x',
      password: 'p:w',
      db: 3,
      tls: undefined,
    });
    expect(redisOptions('rediss://[::1]')).toMatchObject({ host: '::1', port: 6379, db: 0, tls: {} });
    expect(redisOptions('redis://h').sentinels).toBeUndefined();
  });

  it('redis+sentinel:// gives the sentinels, the master name, the db and both sets of credentials', () => {
    const o = redisOptions('redis+sentinel://app:s%40cret@s1.internal:26379,s2.internal,[fd00::3]:26380/vncc-master/2?sentinelPassword=sp&sentinelUsername=su');
    expect(o).toMatchObject({
      sentinels: [
        { host: 's1.internal', port: 26379 },
        { host: 's2.internal', port: 26379 },
        { host: 'fd00::3', port: 26380 },
      ],
      name: 'vncc-master',
      db: 2,
      username: 'app',
      password: 's@cret',
      sentinelUsername: 'su',
      sentinelPassword: 'sp',
    });
    // No host/port of its own: ioredis would otherwise be tempted to use 127.0.0.1:6379.
    expect(o.host).toBeUndefined();
    // Its sentinel subscriptions outlive quit() in ioredis 6.0: a connector could not stop (ioredis#1362).
    expect(o.failoverDetector).toBeUndefined();
    expect(redisOptions('redis+sentinel://s1/m')).toMatchObject({ sentinels: [{ host: 's1', port: 26379 }], name: 'm', db: 0, password: undefined, sentinelPassword: undefined });
    expect(redisOptions('redis+sentinel://:onlypass@s1/m').password).toBe('onlypass');
  });

  it('the fail-fast and worker variants keep the sentinel settings', () => {
    const url = 'redis+sentinel://s1:26379,s2:26379/m';
    expect(failFastOptions(url)).toMatchObject({ name: 'm', sentinels: [{ host: 's1' }, { host: 's2' }], enableOfflineQueue: false });
    expect(workerOptions(url)).toMatchObject({ name: 'm', sentinels: [{ host: 's1' }, { host: 's2' }], maxRetriesPerRequest: null });
  });

  it.each([
    ['redis+sentinel://s1:26379', /master name/],
    ['redis+sentinel://s1:26379/', /master name/],
    ['redis+sentinel://s1:26379/my master', /master name|expected/],
    ['redis+sentinel://s1:26379/m/x', /database number/],
    ['redis+sentinel://s1:26379/m/0/extra', /database number/],
    ['redis+sentinel://s1:99999/m', /sentinel address "s1:99999"/],
    ['redis+sentinel://s1:26379,,s2/m', /sentinel address ""/],
    ['redis+sentinel:///m', /sentinel address ""/],
    ['redis+sentinel://s1/m?password=x', /unknown parameter "password"/],
    ['redis+cluster://', /cluster node address ""/],
    ['redis+cluster://n1:7000,,n2:7001', /cluster node address ""/],
    ['redis+cluster://n1:70000', /cluster node address "n1:70000"/],
    ['redis+cluster://n1:7000/0', /only database 0/],
    ['redis+cluster://n1:7000?natMap=x', /unknown parameter "natMap"/],
    ['redis+cluster://n1:7000 n2:7001', /cluster node address/],
    ['http://s1:6379', /must start with redis:\/\/, rediss:\/\/, redis\+sentinel:\/\/ or redis\+cluster:\/\//],
  ])('%s is a start-up error naming REDIS_URL and what is wrong', (url, why) => {
    const message = startupError(url);
    expect(message).toMatch(/REDIS_URL: /);
    expect(message).toMatch(why);
  });

  it('the start-up error does not repeat the password', () => {
    expect(startupError('redis+sentinel://app:hunter2@s1/m/x')).not.toContain('hunter2');
    expect(startupError('redis+cluster://app:hunter2@n1:7000/1')).not.toContain('hunter2');
  });
});

describe('Redis Cluster (redis+cluster://)', () => {
  it("gives the start-up nodes (port 6379 when left out, IPv6 in brackets) and the nodes' credentials", () => {
    const { nodes, options } = clusterOptions('redis+cluster://app:s%40cret@n1.internal:7000,n2.internal,[fd00::3]:7002/', 'plain');
    expect(nodes).toEqual([
      { host: 'n1.internal', port: 7000 },
      { host: 'n2.internal', port: 6379 },
      { host: 'fd00::3', port: 7002 },
    ]);
    expect(options.redisOptions).toMatchObject({ username: 'app', password: 's@cret', tls: undefined });
    expect(clusterOptions('rediss+cluster://:onlypass@n1:7000', 'plain').options.redisOptions).toMatchObject({ password: 'onlypass', tls: {} });
  });

  it('the request path fails fast on a Cluster too; workers wait, as BullMQ requires', () => {
    const url = 'redis+cluster://n1:7000,n2:7001';
    // No offline queue and no CLUSTERDOWN retries: an event is answered 503 at once while its slot has no master.
    expect(clusterOptions(url, 'fail-fast').options).toMatchObject({ enableOfflineQueue: false, retryDelayOnClusterDown: 0, redisOptions: { maxRetriesPerRequest: 1, commandTimeout: 1500 } });
    expect(clusterOptions(url, 'worker').options).toMatchObject({ enableOfflineQueue: true, redisOptions: { maxRetriesPerRequest: null } });
    expect(clusterOptions(url, 'plain').options.retryDelayOnClusterDown).toBeUndefined();
    expect(clusterOptions(url, 'worker', { connectionName: 'w' }).options.redisOptions).toMatchObject({ connectionName: 'w' });
  });

  it('createRedis gives a Cluster client for redis+cluster:// and a single-server client otherwise', () => {
    const clients = [
      createRedis('redis+cluster://127.0.0.1:7000', 'plain', { lazyConnect: true }),
      createRedis('redis://127.0.0.1:6379', 'fail-fast', { lazyConnect: true }),
      createRedis('redis+sentinel://127.0.0.1:26379/m', 'worker', { lazyConnect: true }),
    ];
    try {
      expect(clients[0]).toBeInstanceOf(Cluster);
      expect(clients[1]).toBeInstanceOf(Redis);
      expect((clients[1] as Redis).options).toMatchObject({ enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      expect((clients[2] as Redis).options).toMatchObject({ name: 'm', maxRetriesPerRequest: null });
    } finally {
      clients.forEach((c) => c.disconnect());
    }
  });

  it('REDIS_PREFIX must be a hash tag on a Cluster: refused at start-up otherwise, {vncc} when unset', () => {
    const url = 'redis+cluster://n1:7000';
    const message = startupError(url, { REDIS_PREFIX: 'vncc' });
    expect(message).toMatch(/REDIS_PREFIX: .*hash tag.*\{vncc\}/);
    expect(startupError(url, { REDIS_PREFIX: 'a{}b' })).toMatch(/REDIS_PREFIX: .*use \{ab\}/);
    expect(readEnv({ ...ENV, REDIS_URL: url }).redisPrefix).toBe('{vncc}');
    expect(readEnv({ ...ENV, REDIS_URL: url, REDIS_PREFIX: 'acme{vncc}' }).redisPrefix).toBe('acme{vncc}');
    // A single server keeps the plain default, and takes a hash-tagged prefix too (ready to move to a Cluster).
    expect(readEnv({ ...ENV, REDIS_URL: 'redis://h' }).redisPrefix).toBe('vncc');
    expect(readEnv({ ...ENV, REDIS_URL: 'redis://h', REDIS_PREFIX: '{vncc}' }).redisPrefix).toBe('{vncc}');
  });

  it.each([
    ['{vncc}', true],
    ['acme{vncc}', true],
    ['{a}{b}', true],
    ['vncc', false],
    ['{}vncc', false], // an empty tag: Redis hashes the whole key
    ['vncc}{', false], // the first { has no } after it
    ['{vncc', false],
  ])('isHashTagged(%s) is %s', (prefix, tagged) => {
    expect(isHashTagged(prefix)).toBe(tagged);
  });
});
