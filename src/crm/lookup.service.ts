import { CONNECTION_DEFAULTS, connectionNamed } from '../config/config.schema';
import { MAX_LOOKUP_TIMEOUT_MS } from './provider-definition';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigStore } from '../config/config.store';
import { MetricsService } from '../metrics/metrics.service';
import { RedisClient } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { SHARED_REDIS } from '../redis/redis.tokens';
import { CrmMatch, PhoneQuery } from './crm-provider';
import { CrmBatcher } from './crm-batcher.service';
import { CrmRegistry } from './crm-registry.service';

export interface LookupResult {
  matches: CrmMatch[];
  /** Served from the cache: no CRM request was made. */
  cached: boolean;
}

/** A cache read started early (see LookupService.peek); undefined `hit` when the cache is off. */
export interface CachePeek {
  key: string;
  /** When the read was started (LookupService's sequence): a search that lands after it is newer than what it reads. */
  seq: number;
  hit?: Promise<string | null>;
}

/** How long a landed search answers lookups whose cache read was already under way (a Redis round trip is far shorter). */
const LANDED_KEEP_MS = 5000;

/**
 * Hard ceiling on one lookup, for a provider that ignores its own time-out: the largest
 * `lookupTimeoutMs` a connection may set, so it never cuts a lookup its connection allows.
 */
export const LOOKUP_CEILING_MS = MAX_LOOKUP_TIMEOUT_MS;

/**
 * CRM lookups with a Redis cache (found records for minutes, "not found" for a minute) and one
 * request in flight per number per process, so the Answer and Hangup after a Dial-In, and a
 * caller who rings a whole group, cost one search.
 */
@Injectable()
export class LookupService {
  private readonly inflight = new Map<string, Promise<CrmMatch[]>>();
  /**
   * Searches that landed in the last few seconds, with the sequence number they landed at. A
   * lookup whose cache read was started before a search landed can get "miss" from Redis after the
   * search is no longer in flight; it takes the landed result instead of searching again. An
   * entry without matches marks an invalidation: a search started before it neither lands nor
   * writes the cache (it could hold the record the invalidation was for).
   */
  private readonly landed = new Map<string, { seq: number; matches?: CrmMatch[] }>();
  private seq = 0;

  constructor(
    private readonly crm: CrmRegistry,
    private readonly store: ConfigStore,
    private readonly metrics: MetricsService,
    private readonly batcher: CrmBatcher,
    private readonly keys: RedisKeys,
    @Inject(SHARED_REDIS) private readonly redis: RedisClient,
  ) {}

  key(connection: string, query: PhoneQuery): string {
    return this.keys.lookup(connection, query);
  }

  /**
   * Starts reading the cache for a number the caller expects to look up, so the read overlaps
   * its other work (a screen pop reads the call record meanwhile); pass it to lookup().
   */
  peek(connection: string, query: PhoneQuery): CachePeek {
    const key = this.key(connection, query);
    return { key, seq: ++this.seq, hit: this.cacheOn(connection) ? this.redis.get(key).catch(() => null) : undefined };
  }

  /**
   * `bulk`: for call logging, a miss is batched with other calls' lookups; screen pops search at
   * once. `peeked`: the cache read peek() started for this number, used instead of a new one.
   */
  async lookup(connection: string, query: PhoneQuery, opts: { bulk?: boolean; peeked?: CachePeek } = {}): Promise<LookupResult> {
    const key = this.key(connection, query);
    const cacheOn = this.cacheOn(connection);
    const started = opts.peeked?.key === key ? opts.peeked.seq : ++this.seq;
    // With the cache off (both TTLs 0) nothing is ever stored: no read either.
    const read = opts.peeked?.key === key ? opts.peeked.hit : cacheOn ? this.redis.get(key).catch(() => null) : undefined;
    const hit = read ? await read : null;
    if (hit !== null) {
      this.metrics.lookupCache.inc({ connection, result: 'hit' });
      return { matches: JSON.parse(hit) as CrmMatch[], cached: true };
    }
    const landed = this.landed.get(key);
    if (landed?.matches && landed.seq > started) return { matches: landed.matches, cached: true };
    if (cacheOn) this.metrics.lookupCache.inc({ connection, result: 'miss' });
    let pending = this.inflight.get(key);
    if (!pending) {
      const searchSeq = ++this.seq;
      const search = this.search(connection, query, opts.bulk ?? false);
      pending = search;
      this.inflight.set(key, search);
      // The caller gets the matches at once; the cache write goes on meanwhile, and the search
      // stays in flight until it lands, so a lookup of the number in between does not search again.
      void search
        .then(
          async (matches) => {
            if (this.invalidatedSince(key, searchSeq)) return;
            await this.remember(connection, key, matches);
            if (cacheOn && !this.invalidatedSince(key, searchSeq)) this.keep(key, { seq: ++this.seq, matches });
          },
          () => undefined,
        )
        .finally(() => this.inflight.get(key) === search && this.inflight.delete(key));
    }
    return { matches: await pending, cached: false };
  }

  /** Forgets what the cache holds for a number (after ops fixed the CRM record, say). */
  async invalidate(connection: string, query: PhoneQuery): Promise<boolean> {
    const key = this.key(connection, query);
    // A search already under way may predate the change the caller knows of: the next lookup searches anew.
    this.inflight.delete(key);
    this.keep(key, { seq: ++this.seq });
    return (await this.redis.del(key)) > 0;
  }

  private invalidatedSince(key: string, seq: number): boolean {
    const entry = this.landed.get(key);
    return !!entry && !entry.matches && entry.seq > seq;
  }

  /** Kept as long as a cache read (or a search) started before it can still be on its way. */
  private keep(key: string, entry: { seq: number; matches?: CrmMatch[] }): void {
    this.landed.set(key, entry);
    setTimeout(() => this.landed.get(key) === entry && this.landed.delete(key), LANDED_KEEP_MS).unref();
  }

  private search(connection: string, query: PhoneQuery, bulk: boolean): Promise<CrmMatch[]> {
    const provider = this.crm.get(connection);
    return this.metrics.timeCrm(connection, 'lookup', () =>
      bulk ? this.batcher.findContacts(connection, query) : provider.findContactsByPhone(query, { signal: AbortSignal.timeout(LOOKUP_CEILING_MS) }),
    );
  }

  private async remember(connection: string, key: string, matches: CrmMatch[]): Promise<void> {
    const cache = this.cache(connection);
    const ttl = matches.length > 0 ? cache.hitSeconds : cache.missSeconds;
    if (ttl > 0) await this.redis.set(key, JSON.stringify(matches), 'EX', ttl).catch(() => undefined);
  }

  private cache(connection: string): { hitSeconds: number; missSeconds: number } {
    return connectionNamed(this.store.current, connection)?.cache ?? CONNECTION_DEFAULTS.cache;
  }

  private cacheOn(connection: string): boolean {
    const { hitSeconds, missSeconds } = this.cache(connection);
    return hitSeconds > 0 || missSeconds > 0;
  }
}
