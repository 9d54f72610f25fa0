import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Logger } from 'pino';
import { APP_ENV, LOGGER } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { CallEvent } from '../ingest/call-event';
import { MetricsService } from '../metrics/metrics.service';
import { EventQueueService } from '../queue/event-queue.service';
import { pingSlotOf, RedisClient } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { REQUEST_REDIS } from '../redis/redis.tokens';
import { withTimeout } from '../common/with-timeout';
import { SpoolEntry, SpoolStore } from './spool-store';

/** Why the spool could not keep an event: the ingest answers 503 with it. */
export class SpoolRefusedError extends Error {}

/** How long a replay waits on Redis per batch, and between tries while Redis stays away. */
const REPLAY_BUDGET_MS = 750;
const RETRY_MS = 1000;
/** Replay paces itself in ticks of this length: `replayPerSecond / 10` events per tick. */
const TICK_MS = 100;

export interface SpoolStatus {
  enabled: boolean;
  /** Redis could not take the last event: new events go to the spool first. */
  spooling: boolean;
  events: number;
  bytes: number;
  capBytes: number;
  /** An event was refused for want of room since the spool last shrank: 503 until replay makes room. */
  full: boolean;
  oldestAgeSeconds?: number;
  dir: string;
  /** Set when the spool cannot be used at all (its directory cannot be written). */
  error?: string;
}

interface Waiting {
  event: CallEvent;
  done: (err?: Error) => void;
}

/**
 * The ingest's second place to keep an event (VoipNow never sends one twice): when Redis cannot
 * take it, the event is appended to a local SQLite spool and answered 202 once the append is
 * fsync'd. Appends made while one commit runs wait for the next, so a burst costs one sync per
 * batch. Once Redis answers, the spool is replayed into the queues oldest first, at most
 * `replayPerSecond`, with the same job ids a live event gets (EventQueueService.enqueue), so an
 * event replayed twice, or one that reached Redis after all, changes nothing. While a call has
 * events waiting in the spool its later events join them, so a call's events reach Redis in the
 * order they arrived and its record folds the same as if they had come live.
 */
@Injectable()
export class SpoolService implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private store?: SpoolStore;
  private error?: string;
  private redisDown = false;
  private closing = false;
  private waiting: Waiting[] = [];
  /** Events waiting per call (CallID + extension), spool and pending appends together. */
  private readonly calls = new Map<string, number>();
  private replaying?: Promise<void>;
  private wake?: () => void;
  private oldestAt?: number;
  private full = false;

  constructor(
    private readonly queue: EventQueueService,
    // The request path's connection, asked in the slot of the connector's keys while Redis is thought away.
    @Inject(REQUEST_REDIS) private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly metrics: MetricsService,
  ) {
    metrics.addCollector(async () => {
      const s = this.status();
      metrics.spoolEvents.set(s.events);
      metrics.spoolOldestAgeSeconds.set(s.oldestAgeSeconds ?? 0);
      metrics.spooling.set(s.spooling ? 1 : 0);
    });
  }

  get enabled(): boolean {
    return this.env.spool.maxBytes > 0;
  }

  onApplicationBootstrap() {
    if (!this.enabled) return;
    try {
      const { store, report } = SpoolStore.open(this.env.spool.dir);
      this.store = store;
      for (const c of store.callsWaiting()) this.count(callKey(c), 1);
      this.oldestAt = store.oldestSpooledAt();
      if (report.tornBytes > 0) {
        this.log.warn(
          { event: 'spool.torn_write', file: report.file, bytes: report.tornBytes, entries: report.entries },
          'the spool ended in a write cut off mid-way (crash or power loss before it was synced, so never answered 202): skipped',
        );
      }
      if (report.damaged) {
        this.log.error(
          { event: 'spool.damaged', file: report.file, ...report.damaged },
          `the spool failed its check and was moved to ${report.damaged.damagedFile}; ${report.damaged.recovered} entries carried over, ${report.damaged.unreadable} unreadable`,
        );
      }
      if (report.entries > 0) {
        this.log.warn({ event: 'spool.found', file: report.file, entries: report.entries }, 'events left in the spool by the last run: replaying them');
        this.startReplay(store);
      }
    } catch (err) {
      this.error = (err as Error).message;
      this.log.error({ event: 'spool.unavailable', dir: this.env.spool.dir, err: this.error }, 'the spool cannot be opened: events get 503 while Redis is away');
    }
  }

  /** True when an event should go to the spool without trying Redis: Redis is known to be away, or its call has events waiting. */
  takesDirectly(event: CallEvent): boolean {
    return this.redisDown || (this.calls.size > 0 && this.calls.has(callKey(event)));
  }

  /** Redis refused or timed out: events go to the spool until a replay gets through. */
  redisUnavailable(): void {
    if (!this.store || this.redisDown) return;
    this.redisDown = true;
    this.log.warn({ event: 'spool.spooling', entries: this.store.size.entries }, 'Redis cannot take events: spooling them to local disk');
    this.startReplay(this.store);
  }

  /** Resolves once the event is durable in the spool; throws SpoolRefusedError when it cannot be kept. */
  async keep(event: CallEvent): Promise<void> {
    const store = this.store;
    if (!store) throw new SpoolRefusedError(this.error ? `the spool is unavailable (${this.error})` : 'the spool is off (SPOOL_MAX_MB=0)');
    if (this.closing) throw new SpoolRefusedError('the connector is shutting down');
    const key = callKey(event);
    this.count(key, 1);
    return new Promise<void>((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => this.commit(store));
      this.waiting.push({
        event,
        done: (err) => {
          if (err) {
            this.count(key, -1);
            reject(err);
          } else resolve();
        },
      });
    });
  }

  status(): SpoolStatus {
    const size = this.store?.size ?? { entries: 0, bytes: 0 };
    return {
      enabled: this.enabled && !!this.store,
      spooling: this.redisDown || size.entries > 0,
      events: size.entries,
      bytes: size.bytes,
      capBytes: this.env.spool.maxBytes,
      full: this.full,
      ...(this.oldestAt !== undefined && size.entries > 0 ? { oldestAgeSeconds: Math.round((Date.now() - this.oldestAt) / 100) / 10 } : {}),
      dir: this.env.spool.dir,
      ...(this.error ? { error: this.error } : {}),
    };
  }

  /** Group commit: everything that arrived since the last commit goes in one transaction. */
  private commit(store: SpoolStore) {
    const batch = this.waiting;
    this.waiting = [];
    const room = this.env.spool.maxBytes - store.size.bytes;
    let used = 0;
    const fits: Waiting[] = [];
    for (const w of batch) {
      const bytes = Buffer.byteLength(JSON.stringify(w.event));
      if (used + bytes > room) {
        if (!this.full) this.log.error({ event: 'spool.full', entries: store.size.entries, bytes: store.size.bytes }, 'the spool is full: events get 503 until Redis is back');
        this.full = true;
        w.done(new SpoolRefusedError(`the spool is full (SPOOL_MAX_MB=${Number((this.env.spool.maxBytes / 1024 / 1024).toFixed(3))})`));
        this.metrics.spoolAppends.inc({ result: 'full' });
        continue;
      }
      used += bytes;
      fits.push(w);
    }
    if (fits.length === 0) return;
    const now = Date.now();
    try {
      store.append(
        fits.map((w) => w.event),
        now,
      );
    } catch (err) {
      this.log.error({ event: 'spool.write_failed', err: (err as Error).message, events: fits.length }, 'the spool could not write: events refused');
      this.metrics.spoolAppends.inc({ result: 'error' }, fits.length);
      for (const w of fits) w.done(new SpoolRefusedError(`the spool could not write (${(err as Error).message})`));
      return;
    }
    if (this.oldestAt === undefined || store.size.entries === fits.length) this.oldestAt = now;
    this.metrics.spoolAppends.inc({ result: 'ok' }, fits.length);
    for (const w of fits) w.done();
    this.startReplay(store);
  }

  private startReplay(store: SpoolStore) {
    if (this.replaying || this.closing) return;
    this.replaying = this.replay(store)
      .catch((err: unknown) => this.log.error({ event: 'spool.replay_failed', err: (err as Error).message }, 'spool replay stopped; it restarts with the next spooled event'))
      .finally(() => (this.replaying = undefined));
  }

  /**
   * Oldest first, `replayPerSecond` at most; while Redis refuses, one event is tried per second
   * (or, with nothing spooled, Redis is pinged: events must not stay routed to the spool for good).
   */
  private async replay(store: SpoolStore) {
    const perTick = Math.max(1, Math.round((this.env.spool.replayPerSecond * TICK_MS) / 1000));
    let replayed = 0;
    while (!this.closing && (store.size.entries > 0 || this.redisDown)) {
      const tickStart = Date.now();
      if (store.size.entries === 0) {
        // Asked in the slot of the connector's keys, as readiness does (a Cluster's other masters may answer).
        const up = await withTimeout(pingSlotOf(this.redis, this.keys.recentCalls()), REPLAY_BUDGET_MS, { subject: 'Redis' }).then(
          () => true,
          () => false,
        );
        if (up) this.redisDown = false;
        else await this.sleep(RETRY_MS);
        continue;
      }
      const batch = store.oldest(this.redisDown ? 1 : perTick);
      const results = await Promise.allSettled(batch.map((e) => withTimeout(this.queue.enqueue(e.event), REPLAY_BUDGET_MS, { subject: 'Redis' })));
      const done = batch.filter((_, i) => results[i].status === 'fulfilled');
      this.forget(store, done);
      replayed += done.length;
      if (done.length < batch.length) {
        this.redisUnavailable();
        await this.sleep(RETRY_MS);
        continue;
      }
      if (this.redisDown) {
        this.redisDown = false;
        this.log.info({ event: 'spool.replaying', entries: store.size.entries }, 'Redis takes events again: replaying the spool');
      }
      await this.sleep(TICK_MS - (Date.now() - tickStart));
    }
    if (store.size.entries === 0 && !this.closing) {
      store.compact();
      this.oldestAt = undefined;
      if (replayed > 0) this.log.info({ event: 'spool.drained', replayed }, 'spool replayed into Redis');
    }
  }

  private forget(store: SpoolStore, entries: SpoolEntry[]) {
    if (entries.length === 0) return;
    store.remove(entries);
    this.full = false;
    for (const e of entries) this.count(callKey(e.event), -1);
    this.metrics.spoolReplayed.inc(entries.length);
    this.oldestAt = store.size.entries > 0 ? store.oldestSpooledAt() : undefined;
  }

  private count(key: string, by: number) {
    const n = (this.calls.get(key) ?? 0) + by;
    if (n > 0) this.calls.set(key, n);
    else this.calls.delete(key);
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Before the queues close: refuse new appends (503), finish the commit and replay batch under way. */
  async beforeApplicationShutdown() {
    this.closing = true;
    this.wake?.();
    // Events wait only for a spool that is open.
    if (this.store && this.waiting.length > 0) this.commit(this.store);
    await this.replaying;
  }

  onApplicationShutdown() {
    if (this.store && this.store.size.entries > 0) {
      this.log.warn({ event: 'spool.left', entries: this.store.size.entries, file: this.store.file }, 'events left in the spool: the next start replays them');
    }
    this.store?.close();
  }
}

function callKey(e: { callId: string; extension: string }): string {
  return `${e.callId}\u0000${e.extension}`;
}
