import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { CrmError } from '../../src/crm/crm-provider';
import { RequestBudget } from '../../src/crm/request-budget';
import { dropKeys } from '../support/redis-keys';

/** The per-connection request budget, against the real Redis that instances share it through. */
describe(RequestBudget.name, () => {
  let redis: Redis;
  const prefix = `tbudget${randomBytes(3).toString('hex')}`;
  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  });
  afterAll(async () => {
    await dropKeys(redis, `${prefix}*`);
    redis.disconnect();
  });

  /** Most requests let through in any rolling window of `ms`. */
  const busiestWindow = (times: number[], ms: number) => Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + ms).length));

  it('never lets more than `requests` through in any rolling window, even from two instances at once', async () => {
    const limits = { requests: 12, perSeconds: 2 };
    const a = new RequestBudget(redis, `${prefix}:roll`, limits);
    const b = new RequestBudget(redis, `${prefix}:roll`, limits);
    const times: number[] = [];
    const take = (i: number) => (i % 2 ? a : b).acquire('interactive').then(() => times.push(Date.now()));
    // One request, then a burst late in the window: a plain fixed-window counter would let the
    // rest of this window's budget and all of the next one's through within two seconds.
    await take(0);
    await new Promise((r) => setTimeout(r, 1500));
    await Promise.all(Array.from({ length: 23 }, (_, i) => take(i + 1)));
    expect(times).toHaveLength(24);
    expect(busiestWindow(times, 2000)).toBeLessThanOrEqual(12);
  });

  it('bulk work leaves a share of each window to interactive lookups', async () => {
    // 5 a one-second slot; bulk stops at 4 of them.
    const budget = new RequestBudget(redis, `${prefix}:share`, { requests: 10, perSeconds: 1 });
    const order: string[] = [];
    const bulk = Array.from({ length: 6 }, () => budget.acquire('bulk').then(() => order.push('bulk')));
    await new Promise((r) => setTimeout(r, 100));
    await budget.acquire('interactive').then(() => order.push('interactive'));
    // The lookup got in while bulk work was still waiting for the next slot.
    expect(order.indexOf('interactive')).toBeLessThan(5);
    await Promise.all(bulk);
  });

  it('a spent daily budget is a quota-exhausted error that says when it resets', async () => {
    const budget = new RequestBudget(redis, `${prefix}:day`, { requests: 100, perSeconds: 10, perDay: 3 });
    for (let i = 0; i < 3; i++) await budget.acquire('bulk');
    const err = (await budget.acquire('bulk').catch((e: unknown) => e)) as CrmError;
    expect(err).toBeInstanceOf(CrmError);
    expect(err).toMatchObject({ kind: 'quota-exhausted', opts: { code: 'DAILY_BUDGET' } });
    expect(err.opts.retryAfterMs).toBeGreaterThan(23 * 3600_000);
  });
});
