import { Controller, Get, Inject, Optional, ServiceUnavailableException } from '@nestjs/common';
import { APP_ENV } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { maskRedisUrl } from '../logging/logger';
import { EventQueueService } from '../queue/event-queue.service';
import { pingSlotOf, RedisClient } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { REQUEST_REDIS } from '../redis/redis.tokens';
import { ConnectionStatus, CrmWatch } from './crm-watch.service';
import { SpoolService } from '../spool/spool.service';

/**
 * Liveness: the process answers. Readiness: it can make events durable: Redis answers, or (in a
 * process that serves the ingest) the local spool can still take them; 503 when neither. The
 * spool's state (spooling, events waiting, age of the oldest) is reported either way. Each CRM connection's auth state and any pause are reported alongside: a CRM outage
 * delays logging but must not stop VoipNow's events from being accepted.
 */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(REQUEST_REDIS) private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly watch: CrmWatch,
    private readonly queues: EventQueueService,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Optional() private readonly spool?: SpoolService,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready() {
    const started = Date.now();
    try {
      await Promise.race([
        // The request path's connection, in the slot of the connector's keys (a Cluster's other nodes may answer while it is down).
        pingSlotOf(this.redis, this.keys.recentCalls()),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 500 ms')), 500).unref()),
      ]);
    } catch (err) {
      const redis = {
        ok: false,
        error: (err as Error).message,
        problem: `Redis at ${maskRedisUrl(this.env.redisUrl)} does not answer (${(err as Error).message}): events cannot be made durable in Redis until it does.`,
      };
      const spool = this.spool?.status();
      // Still ready while the spool keeps events: a load balancer that took every instance out would lose them all.
      // (No CRM report here: pauses are kept in Redis.)
      if (spool?.enabled && !spool.full) return { status: 'spooling', redis, spool };
      throw new ServiceUnavailableException({ statusCode: 503, status: 'unavailable', redis, ...(spool ? { spool } : {}) });
    }
    const redis = { ok: true, latencyMs: Date.now() - started };
    const [crm, failedCallLogs] = await Promise.all([this.crmStatus(), this.failedCallLogs()]);
    return { status: 'ready', redis, ...(this.spool ? { spool: this.spool.status() } : {}), crm, failedCallLogs, ...problemsOf(crm, failedCallLogs) };
  }

  /** Each CRM connection's health (checked at most every 30 s) and pause, from the watcher that also alerts on them. */
  private crmStatus() {
    return this.watch.status();
  }

  /** Failed call logs waiting for ops (replay or discard); undefined when Redis does not say in time. */
  private async failedCallLogs(): Promise<number | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([this.queues.callLog.getFailedCount(), new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 500)))]);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** What needs a person, in plain words (readiness stays 200: events are still accepted and wait). */
function problemsOf(crm: Record<string, ConnectionStatus>, failedCallLogs: number | undefined): { problems?: string[] } {
  const problems: string[] = [];
  for (const [name, c] of Object.entries(crm)) {
    if (!c.ok) problems.push(`CRM connection "${name}" fails its health check (${c.detail ?? 'no detail given'}): lookups fail and its call logs wait. Check its credentials.`);
    if (c.pausedUntil) problems.push(`CRM connection "${name}" is paused until ${c.pausedUntil} (${c.pauseReason ?? 'no reason given'}): its call logs wait.`);
  }
  if (failedCallLogs) problems.push(`${failedCallLogs} call log(s) failed for good: see GET /admin/jobs/failed, then replay or discard them.`);
  return problems.length ? { problems } : {};
}
