import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { APP_ENV, CONNECTOR_CONFIG } from '../config/config.tokens';
import { ConnectorConfig } from '../config/config.schema';
import { AppEnv } from '../config/env';
import { CallEvent, EVENT_TYPES, EventType, escapeIdPart } from '../ingest/call-event';
import { createRedis, RedisClient } from '../queue/redis';
import { CallRecord, foldCallRecord } from './call-record';

/**
 * Call state in Redis: one hash per (CallID, extension), one field per event type holding the
 * first copy of that event that arrived. HSETNX makes redelivery harmless; the record itself is
 * derived from the fields on read, so arrival order does not matter.
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
    // One EVALSHA instead of MULTI/HSETNX/PEXPIRE/EXEC: the ingest hot path's only write besides the job.
    this.redis.defineCommand('vnccRecordEvent', {
      numberOfKeys: 1,
      lua: "local created = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) redis.call('PEXPIRE', KEYS[1], ARGV[3]) return created",
    });
    this.ttlMs = config.calls.recordTtlHours * 3600_000;
  }

  key(callId: string, extension: string): string {
    return `${this.env.redisPrefix}:call:${escapeIdPart(callId)}:${escapeIdPart(extension)}`;
  }

  /** Stores the event; false when this (event, CallID, extension) was already stored. */
  async record(event: CallEvent): Promise<boolean> {
    const key = this.key(event.callId, event.extension);
    const created = await (this.redis as RecordEventCommand).vnccRecordEvent(key, event.type, JSON.stringify(event), this.ttlMs);
    return created === 1;
  }

  /**
   * The call's record. `including` is an event the caller already holds (a job's own event):
   * ingest writes state and jobs in parallel, so it may not be stored yet.
   */
  async get(callId: string, extension: string, including?: CallEvent): Promise<CallRecord | undefined> {
    const fields = await this.redis.hgetall(this.key(callId, extension));
    const events: Partial<Record<EventType, CallEvent>> = {};
    for (const type of EVENT_TYPES) {
      if (fields[type]) events[type] = JSON.parse(fields[type]) as CallEvent;
    }
    if (including && !events[including.type]) events[including.type] = including;
    return foldCallRecord(events);
  }

  /** Adds the call to the ops list of recent calls (kept to the last 1000); done by workers, off the request path. */
  async remember(callId: string, extension: string, at: number): Promise<void> {
    await this.redis
      .multi()
      .zadd(this.recentKey(), 'NX', at, JSON.stringify([callId, extension]))
      .zremrangebyrank(this.recentKey(), 0, -1001)
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

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async onApplicationShutdown() {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

type RecordEventCommand = RedisClient & { vnccRecordEvent(key: string, type: string, event: string, ttlMs: number): Promise<number> };
