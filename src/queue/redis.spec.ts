import { EnvError, readEnv } from '../config/env';
import { failFastOptions, redisOptions, workerOptions } from './redis';

/** Env values readEnv needs besides REDIS_URL (secrets given, so nothing is generated on disk). */
const ENV = { INGEST_TOKEN: 'i-token', ADMIN_TOKEN: 'a-token', AGENT_LINK_SECRET: 'l-secret', NODE_ENV: 'production' };

function startupError(url: string): string {
  try {
    readEnv({ ...ENV, REDIS_URL: url });
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
    ['http://s1:6379', /must start with redis:\/\/, rediss:\/\/ or redis\+sentinel:\/\//],
  ])('%s is a start-up error naming REDIS_URL and what is wrong', (url, why) => {
    const message = startupError(url);
    expect(message).toMatch(/REDIS_URL: /);
    expect(message).toMatch(why);
  });

  it('the start-up error does not repeat the password', () => {
    expect(startupError('redis+sentinel://app:hunter2@s1/m/x')).not.toContain('hunter2');
  });
});
