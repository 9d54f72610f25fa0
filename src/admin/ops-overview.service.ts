import { Inject, Injectable } from '@nestjs/common';
import { CallStateService, RECENT_CALLS_KEPT } from '../calls/call-state.service';
import { connectionNamed } from '../config/config.schema';
import { ConfigStore } from '../config/config.store';
import { APP_ENV } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { ConnectionPauseService } from '../crm/connection-pause.service';
import { CrmHealth } from '../crm/crm-provider';
import { CrmRegistry } from '../crm/crm-registry.service';
import { CRM_PROVIDERS } from '../crm/providers';
import { MetricsService } from '../metrics/metrics.service';
import { isClusterUrl, RedisClient } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { SHARED_REDIS } from '../redis/redis.tokens';
import { RequestBudget } from '../crm/request-budget';
import { EventQueueService } from '../queue/event-queue.service';

/** A CRM is asked for its health at most this often (it costs an API request, and quota). */
const HEALTH_TTL_MS = 30_000;
const HOUR = 3600_000;

type Counts = { logged: number; skipped: number; failed: number };

/** The console's morning view: each connection's state, the last hour's and day's calls, queues and agent pages. */
@Injectable()
export class OpsOverviewService {
  private readonly health = new Map<string, { at: number; health: CrmHealth }>();

  constructor(
    private readonly store: ConfigStore,
    private readonly crm: CrmRegistry,
    private readonly pauses: ConnectionPauseService,
    private readonly queues: EventQueueService,
    private readonly calls: CallStateService,
    private readonly metrics: MetricsService,
    @Inject(APP_ENV) private readonly env: AppEnv,
    private readonly keys: RedisKeys,
    @Inject(SHARED_REDIS) private readonly redis: RedisClient,
  ) {}

  async overview(fresh = false) {
    const [connections, calls, queues, agentPages] = await Promise.all([this.connections(fresh), this.callCounts(), this.queueCounts(), this.agentPages()]);
    return { at: new Date().toISOString(), connections, calls, queues, agentPages };
  }

  private async connections(fresh: boolean) {
    return Promise.all(
      this.crm.names().map(async (name) => {
        const settings = connectionNamed(this.store.current, name);
        const [health, paused, budget] = await Promise.all([this.healthOf(name, fresh), this.pauses.pausedUntil(name).catch(() => undefined), this.budget(name).catch(() => undefined)]);
        const state = paused ? 'paused' : health.health.ok ? 'ready' : /^auth\b/.test(health.health.detail ?? '') ? 'credentials failing' : 'failing';
        return {
          name,
          displayName: this.crm.displayName(name),
          type: settings?.type,
          state,
          ...(paused ? { pausedUntil: new Date(paused.until).toISOString(), pauseReason: paused.reason } : {}),
          // The CRM's own report: Salesforce says how many API requests are left today.
          health: { ok: health.health.ok, detail: health.health.detail, checkedAt: new Date(health.at).toISOString() },
          budget,
        };
      }),
    );
  }

  private async healthOf(name: string, fresh: boolean): Promise<{ at: number; health: CrmHealth }> {
    const cached = this.health.get(name);
    if (!fresh && cached && Date.now() - cached.at < HEALTH_TTL_MS) return cached;
    const health = await Promise.race([
      this.crm
        .get(name)
        .health()
        .catch((err: unknown) => ({ ok: false, detail: (err as Error).message })),
      new Promise<CrmHealth>((r) => setTimeout(() => r({ ok: false, detail: 'health check timed out after 3 s' }), 3000).unref()),
    ]);
    const entry = { at: Date.now(), health };
    this.health.set(name, entry);
    return entry;
  }

  /**
   * The connection's request budget as RequestBudget counts it (the same keys, read through its
   * own API): requests in the current one-second slot, and today's when a daily budget is set.
   */
  private async budget(name: string) {
    const settings = connectionNamed(this.store.current, name);
    const limits = settings?.rateLimit ?? CRM_PROVIDERS.find((p) => p.type === settings?.type)?.defaultBudget;
    if (!limits) return undefined;
    const { slot, day } = await new RequestBudget(this.redis, this.keys.budget(name), limits).usage();
    return {
      limit: `${limits.requests} per ${limits.perSeconds} s${limits.perDay ? `, ${limits.perDay} per day` : ''}`,
      thisSecond: slot,
      ...(day ? { today: { ...day, left: Math.max(0, day.of - day.used) } } : {}),
    };
  }

  /**
   * Logged, skipped and failed customer calls in the last hour and day, counted over the recent-calls
   * list (its last RECENT_CALLS_KEPT calls: `countedSince` says how far back that reaches). A call
   * that rang several extensions counts once; legs covered by another leg's log are not skips.
   */
  private async callCounts() {
    const recent = await this.calls.recent(RECENT_CALLS_KEPT);
    const now = Date.now();
    const byCall = new Map<string, { at: number; status: keyof Counts }>();
    for (const call of recent) {
      const log = call.log as { status?: string; reason?: string; at?: number } | undefined;
      if (!log?.status || !log.at) continue;
      if (log.status === 'skipped' && /^(part of a call still going on|logged once for the whole call)/.test(log.reason ?? '')) continue;
      const status: keyof Counts | undefined = log.status === 'logged' || log.status === 'updated' ? 'logged' : log.status === 'failed' ? 'failed' : log.status === 'skipped' ? 'skipped' : undefined;
      if (!status) continue;
      const seen = byCall.get(call.callId);
      // One customer call, one outcome: logged beats failed beats skipped.
      const rank = { logged: 3, failed: 2, skipped: 1 };
      if (!seen || rank[status] > rank[seen.status]) byCall.set(call.callId, { at: log.at, status });
    }
    const count = (since: number): Counts => {
      const c: Counts = { logged: 0, skipped: 0, failed: 0 };
      for (const v of byCall.values()) if (v.at >= since) c[v.status] += 1;
      return c;
    };
    const oldest = recent.at(-1)?.startedAt;
    return {
      lastHour: count(now - HOUR),
      lastDay: count(now - 24 * HOUR),
      countedSince: recent.length >= RECENT_CALLS_KEPT && oldest ? new Date(oldest).toISOString() : undefined,
    };
  }

  private async queueCounts() {
    const states = ['waiting', 'active', 'delayed', 'failed', 'prioritized'] as const;
    const [pop, log] = await Promise.all([this.queues.screenPop.getJobCounts(...states), this.queues.callLog.getJobCounts(...states)]);
    return { 'screen-pop': pop, 'call-log': log };
  }

  /**
   * Agent pages: how many streams this instance serves (its own gauge), and which extensions have a
   * page open on any instance (their update channels have a subscriber: one per instance watching,
   * however many pages it serves); the second is unknown on a Redis Cluster.
   */
  private async agentPages() {
    const gauge = await this.metrics.registry.getSingleMetric('vncc_agent_streams')?.get();
    const onThisInstance = gauge?.values[0]?.value ?? 0;
    if (isClusterUrl(this.env.redisUrl)) return { onThisInstance, watched: undefined, note: 'extensions watched are not listed on a Redis Cluster (each node knows only its own subscribers)' };
    const prefix = this.keys.updatesChannelPrefix();
    const redis = this.redis;
    const channels = (await redis.pubsub('CHANNELS', `${prefix}*`)) as string[];
    const counts = channels.length ? ((await redis.pubsub('NUMSUB', ...channels)) as (string | number)[]) : [];
    const watched: { extension: string; instances: number }[] = [];
    for (let i = 0; i < counts.length; i += 2) if (Number(counts[i + 1]) > 0) watched.push({ extension: String(counts[i]).slice(prefix.length), instances: Number(counts[i + 1]) });
    watched.sort((a, b) => a.extension.localeCompare(b.extension));
    return { onThisInstance, watched };
  }
}
