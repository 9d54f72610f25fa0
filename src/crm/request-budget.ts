import type { RedisClient } from '../redis/redis-connection';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { CrmError } from './crm-provider';

/** A CRM's documented API budget: `requests` in any rolling `perSeconds` (whole seconds) window, and optionally per day. */
export interface BudgetLimits {
  requests: number;
  perSeconds: number;
  perDay?: number;
}

/**
 * Screen-pop lookups are `interactive` and may use the whole window; everything else (call
 * logging, owner look-ups) is `bulk` and leaves a share of each window to them, so a logging
 * backlog never makes an agent's card wait for budget.
 */
export type RequestPriority = 'interactive' | 'bulk';

/** What a provider calls before each request to its CRM. */
export interface RequestBudgetHandle {
  /** Resolves when a request may go out; throws `quota-exhausted` when the daily budget is spent. */
  acquire(priority: RequestPriority): Promise<void>;
}

/** Share of each window that bulk work leaves to interactive lookups. */
const INTERACTIVE_RESERVE = 0.2;

/**
 * One connection's request budget, shared through Redis by every instance, so the connector
 * schedules against the CRM's limits instead of discovering them through 429s.
 *
 * CRMs count a rolling window (HubSpot: 10 s); a fixed-window counter would let a burst at the end
 * of one window and the start of the next through, twice the budget within 10 s. So the window
 * is cut into one-second slots of requests/(k+1) each, k = perSeconds: any rolling window overlaps
 * at most k+1 slots, and so never holds more than `requests`, at the price of ~1/(k+1) of the budget.
 */
export class RequestBudget implements RequestBudgetHandle {
  private readonly slots: RateLimiterRedis;
  private readonly slotPoints: number;
  private readonly daily?: RateLimiterRedis;

  constructor(
    redis: RedisClient,
    /** RedisKeys.budget(connection): the counters are `<keyPrefix>:window:w` and `<keyPrefix>:day:d`. */
    keyPrefix: string,
    private readonly limits: BudgetLimits,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    const k = Math.max(1, Math.ceil(limits.perSeconds));
    this.slotPoints = Math.max(1, Math.floor(limits.requests / (k + 1)));
    // Redis expiries are whole seconds (EX), hence one-second slots.
    this.slots = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${keyPrefix}:window`, points: this.slotPoints, duration: 1 });
    if (limits.perDay) this.daily = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${keyPrefix}:day`, points: limits.perDay, duration: 86_400 });
  }

  /** Requests per second this budget lets through at most. */
  get ratePerSecond(): number {
    return this.slotPoints;
  }

  async acquire(priority: RequestPriority): Promise<void> {
    const ceiling = priority === 'interactive' ? this.slotPoints : Math.max(1, Math.floor(this.slotPoints * (1 - INTERACTIVE_RESERVE)));
    for (;;) {
      const wait = await this.take(ceiling);
      if (wait === 0) break;
      await this.sleep(wait);
    }
    if (this.daily) {
      try {
        await this.daily.consume('d', 1);
      } catch (res) {
        if (!(res instanceof RateLimiterRes)) throw res;
        throw new CrmError('quota-exhausted', `the connection's daily request budget (${this.daily.points}) is spent`, { code: 'DAILY_BUDGET', retryAfterMs: res.msBeforeNext });
      }
    }
  }

  /** What is spent, read without taking anything: requests in the current one-second slot, and today's when a daily budget is set. */
  async usage(): Promise<{ slot: { used: number; of: number }; day?: { used: number; of: number } }> {
    const [slot, day] = await Promise.all([this.slots.get('w'), this.daily?.get('d')]);
    return {
      slot: { used: Math.min(slot?.consumedPoints ?? 0, this.slotPoints), of: this.slotPoints },
      ...(this.limits.perDay ? { day: { used: day?.consumedPoints ?? 0, of: this.limits.perDay } } : {}),
    };
  }

  /** Takes one request from the current slot if it stays within `ceiling`; else how long to wait. */
  private async take(ceiling: number): Promise<number> {
    let res: RateLimiterRes;
    try {
      res = await this.slots.consume('w', 1);
    } catch (refused) {
      if (!(refused instanceof RateLimiterRes)) throw refused;
      res = refused;
    }
    if (res.consumedPoints <= ceiling) return 0;
    // Give the point back (a refused consume counts too), so the slot's count stays what went out.
    await this.slots.reward('w', 1);
    return res.msBeforeNext + 1;
  }
}
