import { Logger } from 'pino';
import { maskRedisUrl } from './logger';

/** How often a Redis that stays away is mentioned again after the first line. */
export const REDIS_REMINDER_MS = 60_000;

/** Errors that mean "Redis does not answer", as opposed to a command or script that failed. */
const CONNECTION_ERROR =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE|Connection is closed|connect ETIMEDOUT|Stream isn't writeable|All sentinels are unreachable|Failed to refresh slots cache|MaxRetriesPerRequest/i;

export function isConnectionError(err: Error): boolean {
  return CONNECTION_ERROR.test(err.message) || CONNECTION_ERROR.test((err as NodeJS.ErrnoException).code ?? '');
}

/**
 * One process's account of a Redis outage: one line when Redis stops answering (naming the
 * masked URL), a reminder at most every minute while it stays away, one line when it is back.
 * Every connection reports here, so four worker connections retrying twice a second make one
 * line, not eight a second.
 */
export class RedisOutageLog {
  private downSince?: number;
  private lastLine = 0;
  private readonly url: string;

  constructor(
    private readonly log: Logger,
    redisUrl: string,
    private readonly reminderMs = REDIS_REMINDER_MS,
  ) {
    this.url = maskRedisUrl(redisUrl);
  }

  failed(err: Error, source: string): void {
    const now = Date.now();
    if (this.downSince === undefined) {
      this.downSince = now;
      this.lastLine = now;
      this.log.error(
        { event: 'redis.unreachable', redis: this.url, source, err: err.message },
        `Redis at ${this.url} is not reachable (${err.message}); retrying. Until it answers, events are spooled or refused and no jobs run`,
      );
    } else if (now - this.lastLine >= this.reminderMs) {
      this.lastLine = now;
      const seconds = Math.round((now - this.downSince) / 1000);
      this.log.warn({ event: 'redis.still_unreachable', redis: this.url, seconds, err: err.message }, `Redis at ${this.url} still not reachable after ${seconds} s (${err.message})`);
    }
  }

  recovered(): void {
    if (this.downSince === undefined) return;
    const seconds = Math.round((Date.now() - this.downSince) / 1000);
    this.downSince = undefined;
    this.log.info({ event: 'redis.reachable', redis: this.url, seconds }, `Redis at ${this.url} answers again (after ${seconds} s)`);
  }
}

const perLogger = new WeakMap<Logger, RedisOutageLog>();

/** The process's outage log (one per logger, so each app a test starts has its own). */
export function redisOutageLog(log: Logger, redisUrl: string): RedisOutageLog {
  let outage = perLogger.get(log);
  if (!outage) perLogger.set(log, (outage = new RedisOutageLog(log, redisUrl)));
  return outage;
}
