import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { EventType } from '../ingest/call-event';
import { RedisClient } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { SHARED_REDIS } from '../redis/redis.tokens';
import { CallRecord } from './call-record';
import { CrmMatch } from '../crm/crm-provider';
import { CardOffers, WrapUpView } from './wrap-up';

/** What the agent's page receives for every event of a call on its extension. */
export interface CallUpdate {
  event: EventType;
  record: CallRecord;
  publishedAt: number;
  /** CRM lookup of the remote number: pending while it runs past the pop's time budget. */
  lookup?: {
    status: 'pending' | 'done' | 'timeout' | 'error' | 'skipped';
    /** Why it was skipped or failed (internal call, unmapped extension, CRM error kind). */
    reason?: string;
    connection?: string;
    matches: CrmMatch[];
    newContactUrl?: string;
  };
  /** The CRM activity the call was logged as, once it exists. */
  activity?: { connection: string; id: string; url?: string };
  /** Names people read instead of keys: the extension's label from the mapping, the connection's displayName. */
  labels?: { extension?: string; connection?: string };
  /**
   * The customer call across the extensions it rang with the same CallID (ring group, queue,
   * transfer): set once another extension answered it, so the others' cards say who took it.
   */
  group?: { answeredBy: { extension: string; label?: string } };
  /** The agent's wrap-up as last saved (from any page on this extension). */
  wrapUp?: WrapUpView;
  /** What the card may offer on this call (absent: nothing beyond viewing). */
  offers?: CardOffers;
  /** Set by the publisher: the update's entry id in its extension's replay stream (the SSE id). */
  streamId?: string;
}

/** How long updates stay replayable for a page that reconnects (`Last-Event-ID`). */
export const REPLAY_WINDOW_MS = 60_000;
/** A redelivered job republishing the same update within this time is dropped. */
const DEDUPE_MS = 2 * REPLAY_WINDOW_MS;

/**
 * One round trip, atomic: drop a repeat of an update already published (a screen-pop job run
 * twice after a worker died), append it to the extension's replay stream trimmed to the replay
 * window, and publish it carrying its stream id. Atomic so the order on the channel is the order
 * of the stream ids, which is what lets a page's stream tell replayed from live updates.
 * The id is spliced into the JSON text (`{"streamId":"...",` + rest) rather than re-encoded,
 * because Lua's cjson would turn empty arrays into objects.
 * With KEYS[3] to KEYS[5] (CallNotes), the same round trip also writes the ops notes and the
 * call's legs, repeat or not.
 */
const PUBLISH_SCRIPT = `
local id = false
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[5]) then
  id = redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[3], '*', 'u', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('PUBLISH', ARGV[1], '{"streamId":"' .. id .. '",' .. string.sub(ARGV[2], 2))
end
if KEYS[4] then
  if ARGV[6] ~= '' then
    redis.call('HSET', KEYS[3], 'pop', ARGV[6])
    redis.call('PEXPIRE', KEYS[3], ARGV[7])
  end
  redis.call('ZADD', KEYS[4], 'NX', ARGV[8], ARGV[9])
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -1 - tonumber(ARGV[10]))
  redis.call('SADD', KEYS[5], ARGV[11])
  redis.call('PEXPIRE', KEYS[5], ARGV[7])
end
return id`;

/**
 * What a pop notes on the call for ops, written by the publish script in the same round trip
 * (what CallStateService.remember and annotate write with one MULTI each).
 */
export interface CallNotes {
  /** The call's hash (RedisKeys.call) and its TTL; `pop`, when given, becomes its `pop` field. */
  callKey: string;
  ttlMs: number;
  pop?: unknown;
  /** The recent-calls sorted set (RedisKeys.recentCalls): `member` added at `at` unless there, trimmed to the last `keep`. */
  recentKey: string;
  member: string;
  at: number;
  keep: number;
  /** The CallID's legs (RedisKeys.legs): the extension is added, kept `ttlMs`. */
  legsKey: string;
}

type PublishCommand = RedisClient & {
  vnccPublishUpdate(stream: string, dedupe: string, channel: string, json: string, minId: string, ttlMs: number, dedupeMs: number): Promise<string | null>;
  vnccPublishNotedUpdate(
    ...args: [
      stream: string,
      dedupe: string,
      call: string,
      recent: string,
      legs: string,
      channel: string,
      json: string,
      minId: string,
      ttlMs: number,
      dedupeMs: number,
      pop: string,
      callTtlMs: number,
      at: number,
      member: string,
      keep: number,
      extension: string,
    ]
  ): Promise<string | null>;
};

/**
 * Fans call updates out through Redis pub/sub, one channel per extension, so whichever instance
 * holds an agent's page stream receives the update whichever worker produced it. Each update is
 * also kept for a minute in a Redis Stream per extension, whose entry ids are the pages' SSE
 * ids: a page that reconnects is replayed what it missed from there (see src/screen-pop).
 */
@Injectable()
export class CallUpdatePublisher {
  private readonly redis: PublishCommand;

  constructor(
    private readonly keys: RedisKeys,
    // Plain: a pop published during a blip waits for Redis rather than failing its job.
    @Inject(SHARED_REDIS) redis: RedisClient,
  ) {
    // Adds the commands to this client only (EVALSHA, the script loaded on first use); the names are the connector's own.
    redis.defineCommand('vnccPublishUpdate', { numberOfKeys: 2, lua: PUBLISH_SCRIPT });
    redis.defineCommand('vnccPublishNotedUpdate', { numberOfKeys: 5, lua: PUBLISH_SCRIPT });
    this.redis = redis as PublishCommand;
  }

  /**
   * Publishes the update; returns its stream id, or undefined when this very update was already
   * published. `notes`, written in the same round trip, are written in either case.
   */
  async publish(update: CallUpdate, notes?: CallNotes): Promise<string | undefined> {
    const { record } = update;
    const json = JSON.stringify(update);
    const stream = this.keys.updatesLog(record.extension);
    const channel = this.keys.updates(record.extension);
    const dedupe = this.keys.updatesOnce(dedupeKey(update));
    const minId = `${Date.now() - REPLAY_WINDOW_MS}-0`;
    const id = notes
      ? await this.redis.vnccPublishNotedUpdate(
          stream,
          dedupe,
          notes.callKey,
          notes.recentKey,
          notes.legsKey,
          channel,
          json,
          minId,
          2 * REPLAY_WINDOW_MS,
          DEDUPE_MS,
          notes.pop === undefined ? '' : JSON.stringify(notes.pop),
          notes.ttlMs,
          notes.at,
          notes.member,
          notes.keep,
          record.extension,
        )
      : await this.redis.vnccPublishUpdate(stream, dedupe, channel, json, minId, 2 * REPLAY_WINDOW_MS, DEDUPE_MS);
    return id ?? undefined;
  }

  /** Whether a page anywhere watches the extension (its channel has a subscriber). On a Cluster only the node asked answers for itself: unknown there. */
  async watched(extension: string): Promise<boolean | undefined> {
    if (this.redis.isCluster) return undefined;
    const [, n] = (await this.redis.pubsub('NUMSUB', this.keys.updates(extension))) as [string, unknown];
    return Number(n) > 0;
  }
}

/**
 * Identity of an update for dropping repeats: the same call, extension, event and lookup
 * outcome (a `pending` then a `done` are two updates), or the same logged activity.
 */
function dedupeKey(update: CallUpdate): string {
  const { record } = update;
  const what = update.wrapUp
    ? `wrap-up:${update.wrapUp.savedAt}:${update.wrapUp.state}`
    : update.activity
      ? `activity:${update.activity.id}`
      : update.offers?.logsAt
        ? `logs-at:${update.offers.logsAt}`
        : `${update.event}:${update.lookup?.status ?? ''}${update.group ? `:taken-by:${update.group.answeredBy.extension}` : ''}`;
  return createHash('sha1')
    .update(JSON.stringify([record.callId, record.extension, what]))
    .digest('base64url');
}
