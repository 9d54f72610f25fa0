import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/redis-connection';
import { CrmError } from './crm-provider';

const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * One record creation per number at a time, across workers and instances, so two calls (or two
 * cards) for a new number do not both miss the other's record. Waits up to `waitMs` for the
 * holder, then throws a retryable CrmError (code NUMBER_LOCKED) with `busyMessage`.
 */
export async function withNumberLock<T>(redis: RedisClient, key: string, waitMs: number, busyMessage: string, work: () => Promise<T>): Promise<T> {
  const token = randomBytes(8).toString('hex');
  const deadline = Date.now() + waitMs;
  // Held at most `waitMs`; a crashed holder's lock expires by itself.
  while ((await redis.set(key, token, 'PX', waitMs, 'NX')) !== 'OK') {
    if (Date.now() >= deadline) throw new CrmError('retryable', busyMessage, { code: 'NUMBER_LOCKED' });
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await work();
  } finally {
    await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
  }
}
