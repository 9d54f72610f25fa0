import { RedisClient, scanKeys } from '../../src/redis/redis-connection';

/**
 * Deletes a test's keys from the shared Redis: SCAN, not KEYS (KEYS blocks the server for everyone
 * while it walks every key), per master on a Cluster; one key per UNLINK, since the keys of a
 * multi-key command must share a slot on a Cluster.
 */
export async function dropKeys(redis: RedisClient, pattern: string): Promise<void> {
  const keys = await scanKeys(redis, pattern).catch(() => [] as string[]);
  await Promise.all(keys.map((k) => redis.unlink(k).catch(() => undefined)));
}
