import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { APP_ENV, CONNECTOR_CONFIG } from '../config/config.tokens';
import { ConnectorConfig } from '../config/config.schema';
import { AppEnv } from '../config/env';
import { CallEvent, EVENT_TYPES, EventType, escapeIdPart, eventId } from '../ingest/call-event';
import { PopJobData, QueueName } from '../queue/queues';
import { createRedis, RedisClient } from '../queue/redis';
import { CallRecord, foldCallRecord } from './call-record';

/** How many calls the ops list of recent calls keeps. */
export const RECENT_CALLS_KEPT = 1000;

/**
 * Call state in Redis. An event is stored once, as the data of the screen-pop job ingest adds for
 * it (the job id is the event id, so BullMQ ignores a redelivery and the first copy stays): the
 * call's record is folded from the jobs of its (CallID, extension) on read, so arrival order does
 * not matter. One write per event on the request path, and one copy of it in Redis; the jobs are
 * kept `calls.recordTtlHours` after they complete.
 *
 * Beside them, one hash per call holds what the workers did with it (the card shown, the CRM
 * activity logged) for ops' recent-calls list.
 */
@Injectable()
export class CallStateService implements OnApplicationShutdown {
  readonly redis: RedisClient;
  private readonly ttlMs: number;

  constructor(@Inject(APP_ENV) private readonly env: AppEnv, @Inject(CONNECTOR_CONFIG) config: ConnectorConfig) {
    // The request path's one connection: EventQueueService adds the jobs on it too.
    this.redis = createRedis(env.redisUrl, 'fail-fast', { connectionName: 'vncc-request-path' });
    // Errors surface on each command; without a listener ioredis would print every reconnect attempt.
    this.redis.on('error', () => undefined);
    this.ttlMs = config.calls.recordTtlHours * 3600_000;
  }

  /** The hash of what the workers did with the call (`pop`, `log`). */
  key(callId: string, extension: string): string {
    return `${this.env.redisPrefix}:call:${escapeIdPart(callId)}:${escapeIdPart(extension)}`;
  }

  /**
   * The hashes of the events of one (CallID, extension): BullMQ keeps a job under
   * `<prefix>:<queue>:<job id>`, its data as JSON in the field `data`.
   */
  eventKeys(callId: string, extension: string): string[] {
    return EVENT_TYPES.map((type) => `${this.env.redisPrefix}:${QueueName.ScreenPop}:${eventId(type, callId, extension)}`);
  }

  /**
   * The call's record, or undefined when none of its events is stored. `including` is an event the
   * caller already holds (a job's own event).
   */
  async get(callId: string, extension: string, including?: CallEvent): Promise<CallRecord | undefined> {
    // Five HGETs in one round trip (auto-pipelined; one slot on a cluster: the prefix is a hash tag).
    const data = await Promise.all(this.eventKeys(callId, extension).map((key) => this.redis.hget(key, 'data')));
    const events: Partial<Record<EventType, CallEvent>> = {};
    data.forEach((json, i) => {
      if (json) events[EVENT_TYPES[i]] = (JSON.parse(json) as PopJobData).event;
    });
    if (including && !events[including.type]) events[including.type] = including;
    return foldCallRecord(events);
  }

  /** Adds the call to the ops list of recent calls (kept to the last RECENT_CALLS_KEPT); done by workers, off the request path. */
  async remember(callId: string, extension: string, at: number): Promise<void> {
    await this.redis
      .multi()
      .zadd(this.recentKey(), 'NX', at, JSON.stringify([callId, extension]))
      .zremrangebyrank(this.recentKey(), 0, -RECENT_CALLS_KEPT - 1)
      .exec();
  }

  recentKey(): string {
    return `${this.env.redisPrefix}:recent-calls`;
  }

  /** The most recent calls, newest first, with what the workers did with each. */
  async recent(limit: number): Promise<(CallRecord & { pop?: unknown; log?: unknown })[]> {
    const members = await this.redis.zrevrange(this.recentKey(), 0, Math.max(0, limit - 1));
    const records = await Promise.all(
      members.map(async (m) => {
        const [callId, extension] = JSON.parse(m) as [string, string];
        const [record, notes] = await Promise.all([this.get(callId, extension), this.annotations(callId, extension)]);
        return record ? { ...record, ...notes } : undefined;
      }),
    );
    return records.filter((r): r is NonNullable<typeof r> => r !== undefined);
  }

  /** Notes what the workers did with the call (popped, logged as, skipped because...) on its record. */
  async annotate(callId: string, extension: string, field: 'pop' | 'log', value: unknown): Promise<void> {
    const key = this.key(callId, extension);
    await this.redis.multi().hset(key, field, JSON.stringify(value)).pexpire(key, this.ttlMs).exec();
  }

  async annotations(callId: string, extension: string): Promise<{ pop?: unknown; log?: unknown }> {
    const [pop, log] = await this.redis.hmget(this.key(callId, extension), 'pop', 'log');
    return { pop: pop ? JSON.parse(pop) : undefined, log: log ? JSON.parse(log) : undefined };
  }


  async onApplicationShutdown() {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

