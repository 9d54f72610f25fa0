import { Inject, Injectable } from '@nestjs/common';
import { APP_ENV } from '../config/config.tokens';
import { ConfigStore } from '../config/config.store';
import { AppEnv } from '../config/env';
import { MetricsService } from '../metrics/metrics.service';
import { CrmMatch, PhoneQuery } from './crm-provider';
import { CrmBatcher } from './crm-batcher.service';
import { CrmRegistry } from './crm-registry.service';

export interface LookupResult {
  matches: CrmMatch[];
  /** Served from the cache: no CRM request was made. */
  cached: boolean;
}

/** Hard ceiling on one lookup; providers have their own (shorter) time-outs. */
const LOOKUP_CEILING_MS = 10_000;

/**
 * CRM lookups with a Redis cache (found records for minutes, "not found" for a minute) and one
 * request in flight per number per process, so the Answer and Hangup after a Dial-In, and a
 * caller who rings a whole group, cost one search.
 */
@Injectable()
export class LookupService {
  private readonly inflight = new Map<string, Promise<CrmMatch[]>>();

  constructor(
    private readonly crm: CrmRegistry,
    @Inject(APP_ENV) private readonly env: AppEnv,
    private readonly store: ConfigStore,
    private readonly metrics: MetricsService,
    private readonly batcher: CrmBatcher,
  ) {}

  key(connection: string, query: PhoneQuery): string {
    return `${this.env.redisPrefix}:lookup:${connection}:${query.e164 ?? query.digits}`;
  }

  /** `bulk`: for call logging, a miss is batched with other calls' lookups; screen pops search at once. */
  async lookup(connection: string, query: PhoneQuery, opts: { bulk?: boolean } = {}): Promise<LookupResult> {
    const key = this.key(connection, query);
    const hit = await this.crm.redis.get(key).catch(() => null);
    if (hit !== null) {
      this.metrics.lookupCache.inc({ connection, result: 'hit' });
      return { matches: JSON.parse(hit) as CrmMatch[], cached: true };
    }
    this.metrics.lookupCache.inc({ connection, result: 'miss' });
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.search(connection, query, key, opts.bulk ?? false).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return { matches: await pending, cached: false };
  }

  /** Forgets what the cache holds for a number (after ops fixed the CRM record, say). */
  async invalidate(connection: string, query: PhoneQuery): Promise<boolean> {
    return (await this.crm.redis.del(this.key(connection, query))) > 0;
  }

  private async search(connection: string, query: PhoneQuery, key: string, bulk: boolean): Promise<CrmMatch[]> {
    const provider = this.crm.get(connection);
    const matches = await this.metrics.timeCrm(connection, 'lookup', () =>
      bulk ? this.batcher.findContacts(connection, query) : provider.findContactsByPhone(query, { signal: AbortSignal.timeout(LOOKUP_CEILING_MS) }),
    );
    const cache = this.store.current.connections[connection]?.cache ?? { hitSeconds: 600, missSeconds: 60 };
    const ttl = matches.length > 0 ? cache.hitSeconds : cache.missSeconds;
    if (ttl > 0) await this.crm.redis.set(key, JSON.stringify(matches), 'EX', ttl).catch(() => undefined);
    return matches;
  }
}
