import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { ProviderDeps } from '../../src/crm/provider-definition';
import { dropKeys } from './redis-keys';

export interface ProviderRedis {
  /** The file's connection to the shared Redis (open from beforeAll to afterAll). */
  readonly redis: Redis;
  /** Where a connection's keys go: under this run's prefix (a fresh one per test with `prefixPerTest`), then `:crm:<connection>`. */
  keyPrefix(connection: string): string;
  /** What the connector hands a provider: this Redis and key prefix, a silent logger, `.` as config directory; `secret` and the rest as given. */
  deps(connection: string, given: Pick<ProviderDeps, 'secret'> & Partial<ProviderDeps>): ProviderDeps;
}

/**
 * The Redis side of a CRM provider spec (real SDK against a fake CRM): one connection for the
 * file, keys under a prefix no other run uses (`tag` and random hex), all of them dropped at the
 * end. Call it in the `describe` body: it registers its own beforeAll/beforeEach/afterAll.
 */
export function useProviderRedis(tag: string, opts: { prefixPerTest?: boolean } = {}): ProviderRedis {
  const run = `${tag}${randomBytes(3).toString('hex')}`;
  let redis: Redis | undefined;
  let current = run;
  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  });
  if (opts.prefixPerTest) beforeEach(() => (current = `${run}:${randomBytes(3).toString('hex')}`));
  afterAll(async () => {
    if (!redis) return;
    await dropKeys(redis, `${run}:*`);
    redis.disconnect();
  });
  const fixture: ProviderRedis = {
    get redis() {
      if (!redis) throw new Error('useProviderRedis: Redis is connected in beforeAll; use it inside a test or hook');
      return redis;
    },
    keyPrefix: (connection) => `${current}:crm:${connection}`,
    deps: (connection, given) => ({ redis: fixture.redis, keyPrefix: fixture.keyPrefix(connection), logger: pino({ level: 'silent' }), configDir: '.', ...given }),
  };
  return fixture;
}
