import { Client } from '@hubspot/api-client';
import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/contacts';
import { PropertyCreateFieldTypeEnum, PropertyCreateTypeEnum } from '@hubspot/api-client/lib/codegen/crm/properties';
import Redis from 'ioredis';
import { Logger } from 'pino';
import { maskNumber } from '../../logging/logger';
import { CallLogInput, CrmError, CrmHealth, CrmMatch, CrmProvider, LoggedActivity, PhoneQuery } from '../crm-provider';
import { RequestBudgetHandle, RequestPriority } from '../request-budget';
import { classifyHubSpotError } from './hubspot-errors';
import { callEngagement, chunkQueries, CONTACT_PROPERTIES, contactFilterGroups, contactHoldsNumber, contactOf, MAX_IN_VALUES, rank, toMatch, unique } from './hubspot-records';
import { HubSpotSettings } from './hubspot.settings';

export interface HubSpotDeps {
  secret(name: string): string;
  redis: Redis;
  keyPrefix: string;
  logger: Logger;
  budget?: RequestBudgetHandle;
}

/**
 * HubSpot through @hubspot/api-client with the SDK's own retries and limiter off (they are
 * process-global, and they ignore Retry-After and DAILY limits): the connector decides retries
 * from classified errors and schedules against its own budget.
 */
export class HubSpotProvider implements CrmProvider {
  readonly type = 'hubspot';
  /** calls/batch/create takes 100 inputs. */
  readonly maxBatch = 100;
  private readonly client: Client;
  private portal?: Promise<{ portalId: number; uiDomain: string }>;
  private keyProperty?: Promise<void>;
  private refreshing?: Promise<void>;

  constructor(
    readonly connection: string,
    private readonly settings: HubSpotSettings,
    private readonly deps: HubSpotDeps,
  ) {
    const accessToken = settings.auth.flow === 'private-app' ? deps.secret(settings.auth.tokenEnv) : undefined;
    this.client = new Client({ accessToken, basePath: settings.basePath, numberOfApiCallRetries: 0 });
  }

  async findContactsByPhone(query: PhoneQuery, opts: { signal?: AbortSignal } = {}): Promise<CrmMatch[]> {
    const [matches] = await this.search([query], 'interactive', opts.signal);
    this.deps.logger.debug({ event: 'crm.lookup', number: maskNumber(query.raw), matches: matches.length }, 'HubSpot contacts searched');
    return matches;
  }

  /** One contacts search per ~30 numbers (HubSpot's IN filters take 100 values) instead of one each. */
  async findContactsByPhones(queries: PhoneQuery[]): Promise<CrmMatch[][]> {
    const results = await Promise.all(chunkQueries(queries).map((chunk) => this.search(chunk, 'bulk')));
    return results.flat();
  }

  private async search(queries: PhoneQuery[], priority: RequestPriority, signal?: AbortSignal): Promise<CrmMatch[][]> {
    const filterGroups = contactFilterGroups(queries);
    const found: { id: string; properties: Record<string, string | null> }[] = [];
    let after: string | undefined;
    do {
      const page = await this.call(priority === 'interactive' ? 'lookup' : 'lookupBatch', signal, () =>
        this.client.crm.contacts.searchApi.doSearch({ filterGroups, properties: CONTACT_PROPERTIES, limit: 200, sorts: [{ propertyName: 'lastmodifieddate', direction: 'DESCENDING' }] as never, after: after as never }),
      );
      found.push(...page.results);
      after = page.paging?.next?.after;
    } while (after && found.length < 1000);
    const portal = await this.portalInfo();
    return queries.map((q) => rank(found.filter((c) => contactHoldsNumber(c.properties, q)).map((c) => toMatch(this.connection, c.id, c.properties, portal))));
  }

  async logCall(input: CallLogInput): Promise<LoggedActivity> {
    const url = contactOf(input)?.url;
    // A retry after HubSpot created the call but the answer was lost finds it here.
    const existing = await this.findLoggedCalls(input.mayExist === false ? [] : [input.key]);
    const id = existing.get(input.key);
    if (id) return { id, url, created: false };
    return { id: await this.createCall(input), url, created: true };
  }

  private async createCall(input: CallLogInput): Promise<string> {
    return (await this.call('logCall', undefined, () => this.client.crm.objects.calls.basicApi.create(callEngagement(input, this.settings.callKeyProperty)))).id;
  }

  /**
   * Up to 100 calls in two requests: one search for those already logged (a retried batch), one
   * batch create for the rest. When HubSpot refuses the batch as a whole (one bad owner id fails
   * all of it), the calls are created one by one so only the bad one fails.
   */
  async logCalls(inputs: CallLogInput[]): Promise<(LoggedActivity | CrmError)[]> {
    const existing = await this.findLoggedCalls(inputs.filter((i) => i.mayExist !== false).map((i) => i.key));
    const pending = new Map<string, CallLogInput>();
    for (const i of inputs) if (!existing.has(i.key)) pending.set(i.key, i);
    const created = new Map<string, string | CrmError>();
    if (pending.size > 0) {
      const keyProperty = this.settings.callKeyProperty;
      try {
        const res = await this.call('logCalls', undefined, () =>
          this.client.crm.objects.calls.batchApi.create({ inputs: [...pending.values()].map((i) => callEngagement(i, keyProperty)) }),
        );
        for (const r of res.results) created.set(String(r.properties[keyProperty]), r.id);
      } catch (err) {
        if (!(err instanceof CrmError) || err.kind !== 'permanent') throw err;
        // HubSpot may have created part of the batch before refusing the rest: look again first.
        const partial = await this.findLoggedCalls([...pending.keys()]);
        for (const i of pending.values()) {
          const id = partial.get(i.key) ?? (await this.createCall(i).catch((e: unknown) => (e instanceof CrmError ? e : classifyHubSpotError(e))));
          created.set(i.key, id);
        }
      }
    }
    return inputs.map((i) => {
      const url = contactOf(i)?.url;
      const before = existing.get(i.key);
      if (before) return { id: before, url, created: false };
      const id = created.get(i.key);
      if (id instanceof CrmError) return id;
      return id ? { id, url, created: true } : new CrmError('retryable', `HubSpot's batch answer did not include call ${i.key}`);
    });
  }

  /** Calls already carrying these idempotency keys, key → call id. */
  private async findLoggedCalls(keys: string[]): Promise<Map<string, string>> {
    const keyProperty = this.settings.callKeyProperty;
    await this.ensureKeyProperty();
    const found = new Map<string, string>();
    if (keys.length === 0) return found;
    const wanted = unique(keys);
    for (let i = 0; i < wanted.length; i += MAX_IN_VALUES) {
      const values = wanted.slice(i, i + MAX_IN_VALUES);
      const res = await this.call('findCall', undefined, () =>
        this.client.crm.objects.calls.searchApi.doSearch({
          filterGroups: [{ filters: values.length === 1 ? [{ propertyName: keyProperty, operator: FilterOperatorEnum.Eq as never, value: values[0] }] : [{ propertyName: keyProperty, operator: FilterOperatorEnum.In as never, values }] }],
          properties: [keyProperty],
          limit: 200,
          after: undefined as never,
          sorts: [],
        }),
      );
      for (const r of res.results) found.set(String(r.properties[keyProperty]), r.id);
    }
    return found;
  }

  async health(): Promise<CrmHealth> {
    try {
      const portal = await this.portalInfo(true);
      return { ok: true, detail: `portal ${portal.portalId} (${portal.uiDomain})` };
    } catch (err) {
      const e = classifyHubSpotError(err);
      return { ok: false, detail: `${e.kind}: ${e.message}` };
    }
  }

  newContactUrl(): string | undefined {
    // HubSpot has no documented "new contact with this number" link; the contacts index is the closest.
    return this.portalCached ? `https://${this.portalCached.uiDomain}/contacts/${this.portalCached.portalId}/objects/0-1/views/all/list` : undefined;
  }

  async findUserIdByEmail(email: string): Promise<string | undefined> {
    const page = await this.call('findOwner', undefined, () => this.client.crm.owners.ownersApi.getPage(email, undefined, 1));
    return page.results[0]?.id;
  }

  private portalCached?: { portalId: number; uiDomain: string };

  private portalInfo(fresh = false): Promise<{ portalId: number; uiDomain: string }> {
    if (this.settings.portalId && this.settings.uiDomain) return Promise.resolve((this.portalCached = { portalId: this.settings.portalId, uiDomain: this.settings.uiDomain }));
    if (!this.portal || fresh) {
      this.portal = this.call('accountInfo', undefined, async () => {
        const res = await this.client.apiRequest({ method: 'GET', path: '/account-info/v3/details' });
        const body = (await res.json()) as { portalId: number; uiDomain: string; message?: string };
        if (!res.ok) throw Object.assign(new Error(body.message ?? 'account-info failed'), { code: res.status, body, headers: {} });
        return (this.portalCached = { portalId: this.settings.portalId ?? body.portalId, uiDomain: this.settings.uiDomain ?? body.uiDomain });
      });
      this.portal.catch(() => (this.portal = undefined));
    }
    return this.portal;
  }

  /** The call key property must exist before calls can carry or be searched by it. */
  private ensureKeyProperty(): Promise<void> {
    const name = this.settings.callKeyProperty;
    this.keyProperty ??= this.call('ensureProperty', undefined, async () => {
      try {
        await this.client.crm.properties.coreApi.getByName('calls', name);
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
        await this.client.crm.properties.coreApi
          .create('calls', { name, label: 'VoipNow call key', type: PropertyCreateTypeEnum.String, fieldType: PropertyCreateFieldTypeEnum.Text, groupName: 'callinformation', hasUniqueValue: false })
          .catch((e: { code?: number }) => {
            if (e.code !== 409) throw e;
          });
      }
    }).catch((err) => {
      this.keyProperty = undefined;
      throw err;
    });
    return this.keyProperty;
  }

  /** Runs one SDK call with our time-out, OAuth refresh on expiry, and errors classified. */
  private async call<T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>, retried = false): Promise<T> {
    await this.ensureToken();
    // Screen-pop lookups may use the whole budget; everything else leaves them a share.
    await this.deps.budget?.acquire(what === 'lookup' ? 'interactive' : 'bulk');
    try {
      return await withTimeout(fn(), this.settings.lookupTimeoutMs * (what === 'lookup' ? 1 : 10), signal);
    } catch (err) {
      const e = classifyHubSpotError(err);
      if (e.kind === 'auth' && this.settings.auth.flow === 'oauth' && !retried) {
        await this.refresh(true);
        return this.call(what, signal, fn, true);
      }
      throw e;
    }
  }

  private async ensureToken() {
    if (this.settings.auth.flow !== 'oauth' || this.client.config.accessToken) return;
    const cached = await this.deps.redis.get(`${this.deps.keyPrefix}:access-token`);
    if (cached) this.client.setAccessToken(cached);
    else await this.refresh(false);
  }

  /** One refresh at a time per connection; the new token is shared with other instances through Redis. */
  private refresh(force: boolean): Promise<void> {
    this.refreshing ??= (async () => {
      const auth = this.settings.auth;
      if (auth.flow !== 'oauth') return;
      const key = `${this.deps.keyPrefix}:access-token`;
      const shared = force ? undefined : await this.deps.redis.get(key);
      if (shared) return this.client.setAccessToken(shared);
      let token;
      try {
        token = await this.client.oauth.tokensApi.create('refresh_token', undefined, undefined, auth.clientId, this.deps.secret(auth.clientSecretEnv), this.deps.secret(auth.refreshTokenEnv));
      } catch (err) {
        const e = classifyHubSpotError(err);
        throw new CrmError(e.kind === 'permanent' ? 'auth' : e.kind, `HubSpot OAuth refresh failed: ${e.message}`, e.opts);
      }
      this.client.setAccessToken(token.accessToken);
      await this.deps.redis.set(key, token.accessToken, 'EX', Math.max(60, token.expiresIn - 120));
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const fail = () => reject(Object.assign(new Error(`no answer within ${ms} ms`), { name: 'TimeoutError' }));
    const timer = setTimeout(fail, ms);
    signal?.addEventListener('abort', fail, { once: true });
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
