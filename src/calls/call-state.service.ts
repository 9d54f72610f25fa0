import { Inject, Injectable } from '@nestjs/common';
import { CONNECTOR_CONFIG } from '../config/config.tokens';
import { ConnectorConfig } from '../config/config.schema';
import { CallEvent, EVENT_TYPES, EventType } from '../ingest/call-event';
import { RedisClient } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { REQUEST_REDIS } from '../redis/redis.tokens';
import { CrmMatch } from '../crm/crm-provider';
import { CallRecord, foldCallRecord } from './call-record';
import { decodeEvent, encodeEvent } from './stored-event';
import { WrapUpView } from './wrap-up';

/** A wrap-up as stored: what pages see, plus a record created from the card (not among the lookup's matches). */
export interface StoredWrapUp extends WrapUpView {
  created?: CrmMatch;
}

/** What pages see of a stored wrap-up (a record created from the card stays server-side). */
export function wrapUpView(wrapUp: StoredWrapUp): WrapUpView {
  const { created: _created, ...view } = wrapUp;
  return view;
}

/** How many calls the ops list of recent calls keeps. */
export const RECENT_CALLS_KEPT = 1000;

/**
 * Call state in Redis, in keys the connector owns. One hash per (CallID, extension) holds the
 * call's events (field = event type, value = the event as encodeEvent keeps it) beside what the
 * workers did with it (`pop`, `log`: ops' recent-calls list); the record is folded from the events
 * on read, so arrival order does not matter. The hash lives `calls.recordTtlHours` after its last
 * write.
 *
 * Ingest makes one write per event: the event's screen-pop job, which carries it. The pop job's
 * first step keeps the event here (`keepEvent`); a call-log job that finds its leg's
 * events not kept yet (the screen-pop queue is behind) keeps them from their pending jobs
 * (`keep`). After that nothing reads a job for its event, so cleaning BullMQ's completed or failed
 * jobs (the dashboard's Clean) loses nothing.
 */
@Injectable()
export class CallStateService {
  private readonly ttlMs: number;

  constructor(
    @Inject(CONNECTOR_CONFIG) config: ConnectorConfig,
    private readonly keys: RedisKeys,
    // The request path's connection (ingest adds its jobs on it too): a card's or ops' read fails fast while Redis is away.
    @Inject(REQUEST_REDIS) private readonly redis: RedisClient,
  ) {
    this.ttlMs = config.calls.recordTtlHours * 3600_000;
  }

  /** The call's hash: its events and what the workers did with it (`pop`, `log`). */
  key(callId: string, extension: string): string {
    return this.keys.call(callId, extension);
  }

  /** The call's record, or undefined when none of its events is kept. */
  async get(callId: string, extension: string): Promise<CallRecord | undefined> {
    return this.fold(callId, extension, await this.redis.hgetall(this.key(callId, extension)));
  }

  /**
   * A pop job's first step: keeps the job's event (unless the hash has that event already: a
   * redelivery keeps the first copy) and reads the call's record back, in one round trip.
   */
  async keepEvent(event: CallEvent): Promise<CallRecord> {
    const record = await this.keep(event.callId, event.extension, [event]);
    if (!record) throw new Error(`the ${event.type} event just kept is not in the call state`);
    return record;
  }

  /** Keeps events of one (CallID, extension) that the hash lacks (those it has stay as they are); returns the record. */
  async keep(callId: string, extension: string, events: CallEvent[]): Promise<CallRecord | undefined> {
    const key = this.key(callId, extension);
    const multi = this.redis.multi();
    for (const event of events) multi.hsetnx(key, event.type, encodeEvent(event));
    const replies = (await multi.pexpire(key, this.ttlMs).hgetall(key).exec()) as [Error | null, unknown][];
    return this.fold(callId, extension, replies[replies.length - 1][1] as Record<string, string>);
  }

  private fold(callId: string, extension: string, fields: Record<string, string>): CallRecord | undefined {
    const events: Partial<Record<EventType, CallEvent>> = {};
    for (const type of EVENT_TYPES) if (fields[type]) events[type] = decodeEvent(type, callId, extension, fields[type]);
    return foldCallRecord(events);
  }

  /**
   * Adds the call to the ops list of recent calls (kept to the last RECENT_CALLS_KEPT) and the
   * extension to the CallID's legs; done by workers, off the request path. (A pop that publishes
   * writes the same in its publish script: see CallNotes.)
   */
  async remember(callId: string, extension: string, at: number): Promise<void> {
    const legs = this.legsKey(callId);
    await this.redis
      .multi()
      .zadd(this.recentKey(), 'NX', at, JSON.stringify([callId, extension]))
      .zremrangebyrank(this.recentKey(), 0, -RECENT_CALLS_KEPT - 1)
      .sadd(legs, extension)
      .pexpire(legs, this.ttlMs)
      .exec();
  }

  /** The extensions a CallID rang (ring group members, queue agents, transfer targets), written as their pops run. */
  legsKey(callId: string): string {
    return this.keys.legs(callId);
  }

  get recordTtlMs(): number {
    return this.ttlMs;
  }

  /**
   * The records of every extension the CallID rang, `extension`'s first: one round trip for the
   * leg list, one (pipelined) for their events.
   */
  async legs(callId: string, extension: string): Promise<CallRecord[]> {
    const others = (await this.redis.smembers(this.legsKey(callId))).filter((e) => e !== extension).sort();
    const records = await Promise.all([extension, ...others].map((e) => this.get(callId, e)));
    return records.filter((r): r is CallRecord => r !== undefined);
  }

  /** The extension that answered the CallID first, noted by its Answer's pop (`answered` sets it when none is). */
  answeredKey(callId: string): string {
    return this.keys.answered(callId);
  }

  /** Notes that `extension` answered the CallID, unless another did first; returns the first. */
  async answered(callId: string, extension: string): Promise<string> {
    const key = this.answeredKey(callId);
    const [[, first]] = (await this.redis.multi().set(key, extension, 'PX', this.ttlMs, 'NX', 'GET').exec()) as [[unknown, string | null]];
    return first ?? extension;
  }

  async answeredBy(callId: string): Promise<string | undefined> {
    return (await this.redis.get(this.answeredKey(callId))) ?? undefined;
  }

  /** The agent's wrap-up of a customer call on one connection (shared by every extension the call rang there). */
  wrapUpKey(callId: string, connection: string): string {
    return this.keys.wrapUp(callId, connection);
  }

  async wrapUp(callId: string, connection: string): Promise<StoredWrapUp | undefined> {
    const json = await this.redis.get(this.wrapUpKey(callId, connection));
    return json ? (JSON.parse(json) as StoredWrapUp) : undefined;
  }

  async saveWrapUp(callId: string, connection: string, wrapUp: StoredWrapUp): Promise<void> {
    await this.redis.set(this.wrapUpKey(callId, connection), JSON.stringify(wrapUp), 'PX', this.ttlMs);
  }

  recentKey(): string {
    return this.keys.recentCalls();
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
}
