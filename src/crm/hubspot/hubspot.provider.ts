import { Client } from '@hubspot/api-client';
import type { RedisClient } from '../../redis/redis-connection';
import { CrmConnectionKeys } from '../../redis/redis-keys';
import { Logger } from 'pino';
import { withTimeout } from '../../common/with-timeout';
import { maskNumber } from '../../logging/logger';
import { ActivityPatch, CallLogInput, CrmError, CrmHealth, CrmMatch, CrmProvider, FollowUpInput, LoggedActivity, NewContactInput, PhoneQuery } from '../crm-provider';
import { writeTimeoutMs } from '../provider-definition';
import { RequestBudgetHandle, RequestPriority } from '../request-budget';
import { classifyHubSpotError } from './hubspot-errors';
import { HubSpotRunner, KeyedObjects } from './hubspot-keyed-objects';
import { attachmentTo, callPatchProperties, followUpTask } from './hubspot-writes';
import {
  callEngagement,
  chunkQueries,
  CONTACT_PROPERTIES,
  contactFilterGroups,
  contactHoldsNumber,
  contactOf,
  dealsContext,
  newContactProperties,
  openDealsSearch,
  rank,
  toMatch,
} from './hubspot-records';
import { HubSpotSettings } from './hubspot.settings';

export interface HubSpotDeps {
  secret(name: string): string;
  redis: RedisClient;
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
  private refreshing?: Promise<void>;
  /** Calls, one per call key; contacts created for unknown callers, one per number; follow-up tasks, one per key. */
  private readonly calls: KeyedObjects;
  private readonly contacts: KeyedObjects;
  private readonly tasks: KeyedObjects;
  /** Set once a created contact's marketing status was found to differ from `createdContactsMarketing` (warned once). */
  private marketingWarned = false;

  constructor(
    readonly connection: string,
    private readonly settings: HubSpotSettings,
    private readonly deps: HubSpotDeps,
  ) {
    const accessToken = settings.auth.flow === 'private-app' ? deps.secret(settings.auth.tokenEnv) : undefined;
    this.client = new Client({ accessToken, basePath: settings.basePath, numberOfApiCallRetries: 0 });
    const run: HubSpotRunner = (what, fn) => this.call(what, undefined, fn);
    this.calls = new KeyedObjects(this.client, run, deps.logger, 'calls', settings.callKeyProperty, 'VoipNow call key');
    this.contacts = new KeyedObjects(this.client, run, deps.logger, 'contacts', settings.contactKeyProperty, 'VoipNow caller number');
    this.tasks = new KeyedObjects(this.client, run, deps.logger, 'tasks', settings.taskKeyProperty, 'VoipNow follow-up key');
  }

  /**
   * One contacts search, then one deals search for the best match's open deals (the card's
   * context): two requests at most. The deals search gets what is left of `lookupTimeoutMs`; when it
   * fails or runs out, the matches come without it.
   */
  async findContactsByPhone(query: PhoneQuery, opts: { signal?: AbortSignal } = {}): Promise<CrmMatch[]> {
    const deadline = Date.now() + this.settings.lookupTimeoutMs;
    const [matches] = await this.search([query], 'interactive', opts.signal);
    if (matches[0]) await this.addContext(matches[0], deadline, opts.signal);
    this.deps.logger.debug({ event: 'crm.lookup', number: maskNumber(query.raw), matches: matches.length }, 'HubSpot contacts searched');
    return matches;
  }

  /** The contact's open deals, from one search filtered on the association (tickets would be a second search). */
  private async addContext(match: CrmMatch, deadline: number, signal?: AbortSignal): Promise<void> {
    const left = deadline - Date.now();
    if (left < 100) return;
    try {
      const page = await this.call('lookupContext', signal, () => this.client.crm.deals.searchApi.doSearch(openDealsSearch(match.id)), false, left);
      match.context = dealsContext(page.total, page.results, await this.portalInfo());
    } catch (err) {
      this.deps.logger.warn({ event: 'crm.lookup_context_failed', connection: this.connection, err: (err as Error).message }, 'HubSpot deals search failed; the card shows the matches without it');
    }
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
        this.client.crm.contacts.searchApi.doSearch({
          filterGroups,
          properties: CONTACT_PROPERTIES,
          limit: 200,
          // Newest change first ('-' is descending in the SDK's string form of a sort).
          sorts: ['-lastmodifieddate'],
          after,
        }),
      );
      found.push(...page.results);
      after = page.paging?.next?.after;
    } while (after && found.length < 1000);
    const portal = await this.portalInfo();
    return queries.map((q) => rank(found.filter((c) => contactHoldsNumber(c.properties, q)).map((c) => toMatch(this.connection, c.id, c.properties, portal, q))));
  }

  /**
   * One request on a first attempt (the create; a key HubSpot already holds comes back as that
   * call). A retry first reads the call by its key, so a lost create answer is not created again.
   */
  async logCall(input: CallLogInput): Promise<LoggedActivity> {
    const url = contactOf(input)?.url;
    const existing = input.mayExist === false ? undefined : (await this.calls.find([input.key])).get(input.key);
    if (existing) return { id: existing.id, url, created: false };
    return { ...(await this.calls.create(input.key, callEngagement(input), 'logCall')), url };
  }

  /**
   * Up to 100 calls in two requests: one read for those already logged (a retried batch), one
   * batch create for the rest. When HubSpot refuses the batch as a whole (one bad owner id, or a
   * key created meanwhile, fails all of it), the calls are created one by one so only the bad one
   * fails and a taken key comes back as its call.
   */
  async logCalls(inputs: CallLogInput[]): Promise<(LoggedActivity | CrmError)[]> {
    const existing = await this.calls.find(inputs.filter((i) => i.mayExist !== false).map((i) => i.key));
    const pending = new Map<string, CallLogInput>();
    for (const i of inputs) if (!existing.has(i.key)) pending.set(i.key, i);
    const created = new Map<string, { id: string; created: boolean } | CrmError>();
    if (pending.size > 0) {
      try {
        const ids = await this.calls.createBatch(
          [...pending.values()].map((i) => ({ key: i.key, object: callEngagement(i) })),
          'logCalls',
        );
        for (const [key, id] of ids) created.set(key, { id, created: true });
      } catch (err) {
        if (!(err instanceof CrmError) || err.kind !== 'permanent') throw err;
        for (const i of pending.values()) {
          created.set(i.key, await this.calls.create(i.key, callEngagement(i), 'logCall').catch((e: unknown) => (e instanceof CrmError ? e : classifyHubSpotError(e))));
        }
      }
    }
    return inputs.map((i) => {
      const url = contactOf(i)?.url;
      const before = existing.get(i.key);
      if (before) return { id: before.id, url, created: false };
      const done = created.get(i.key);
      if (done instanceof CrmError) return done;
      return done ? { ...done, url } : new CrmError('retryable', `HubSpot's batch answer did not include call ${i.key}`);
    });
  }

  /**
   * A contact for an unknown caller: the number, the caller ID name, the mapping's owner. Keyed by
   * the number, so a retry of the call, and other calls from the same number at the same time,
   * get this one contact rather than a second.
   */
  async createContact(input: NewContactInput): Promise<CrmMatch> {
    const properties = newContactProperties(input);
    const { id, created } = await this.contacts.create(input.number, { properties }, 'createContact');
    this.deps.logger.debug({ event: 'crm.contact_created', number: maskNumber(input.number), id }, 'HubSpot contact created for an unknown caller');
    if (created) await this.checkMarketingStatus(id);
    return toMatch(this.connection, id, { ...properties, [this.contacts.property]: input.number }, await this.portalInfo());
  }

  /**
   * HubSpot's API cannot set a contact's marketing status (`hs_marketable_status` is read-only):
   * contacts an app creates follow the app's switch in Settings → Integrations → Marketing
   * contacts. So the status of a created contact is read back, and a difference from
   * `createdContactsMarketing` is logged once with what to change. A failed read only skips the
   * check: the contact exists, and the call must not be retried for a diagnostic.
   */
  private async checkMarketingStatus(id: string): Promise<void> {
    if (this.marketingWarned) return;
    let status: string | null | undefined;
    try {
      const contact = await this.call('marketingStatus', undefined, () => this.client.crm.objects.basicApi.getById('contacts', id, ['hs_marketable_status']));
      status = contact.properties.hs_marketable_status;
    } catch (err) {
      this.deps.logger.debug({ event: 'crm.marketing_status_unread', id, reason: classifyHubSpotError(err).message }, 'Marketing status of the created contact not read');
      return;
    }
    // Portals without marketing contacts have no status: every contact is treated alike there.
    if (status !== 'true' && status !== 'false') return;
    const wanted = this.settings.createdContactsMarketing;
    if ((status === 'true') === wanted) return;
    this.marketingWarned = true;
    this.deps.logger.warn(
      { event: 'crm.marketing_status_mismatch', connection: this.connection, id, marketing: status === 'true', wanted },
      wanted
        ? "HubSpot created the caller's contact as a non-marketing contact, but createdContactsMarketing is true: switch this app on in HubSpot Settings → Integrations → Marketing contacts (the API cannot set the status)."
        : "HubSpot created the caller's contact as a marketing contact (billed): switch this app off in HubSpot Settings → Integrations → Marketing contacts, or set createdContactsMarketing: true if that is intended.",
    );
  }

  /**
   * PATCH of the call (title, body, outcome) and, when the agent picked another record, the call
   * moved to it: the new association is added before the others of that kind are removed, so a
   * failure halfway leaves the call attached to both rather than to none, and the retry finishes.
   * Applying the same patch again finds nothing left to change.
   */
  async updateCall(activityId: string, patch: ActivityPatch): Promise<void> {
    const properties = callPatchProperties(patch);
    if (Object.keys(properties).length > 0) await this.call('updateCall', undefined, () => this.client.crm.objects.basicApi.update('calls', activityId, { properties }));
    if (!patch.match) return;
    const { objectType, spec } = attachmentTo('calls', patch.match);
    const to = patch.match.id;
    const v4 = this.client.crm.associations.v4.basicApi;
    const current: string[] = [];
    let after: string | undefined;
    do {
      const page = await this.call('updateCall', undefined, () => v4.getPage('calls', activityId, objectType, after, 500));
      // HubSpot's JSON carries toObjectId as a number, whatever the client's type says.
      current.push(...page.results.map((r) => String(r.toObjectId as string | number)));
      after = page.paging?.next?.after;
    } while (after);
    if (!current.includes(to)) await this.call('updateCall', undefined, () => v4.create('calls', activityId, objectType, to, [spec]));
    for (const other of current.filter((id) => id !== to)) await this.call('updateCall', undefined, () => v4.archive('calls', activityId, objectType, other));
  }

  /**
   * A task to call the customer back (a missed call), once per key: a task already holding the
   * key (an earlier attempt whose answer was lost) is returned instead. Follow-ups are rare, so
   * the look-up runs on every attempt.
   */
  async createTask(input: FollowUpInput): Promise<LoggedActivity> {
    const url = input.match?.url;
    const existing = (await this.tasks.find([input.key])).get(input.key);
    if (existing) return { id: existing.id, url, created: false };
    return { ...(await this.tasks.create(input.key, followUpTask(input), 'createTask')), url };
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

  /** Runs one SDK call with our time-out, OAuth refresh on expiry, and errors classified. */
  private async call<T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>, retried = false, timeoutMs?: number): Promise<T> {
    await this.ensureToken();
    // Screen-pop lookups may use the whole budget; everything else leaves them a share.
    const interactive = what === 'lookup' || what === 'lookupContext';
    await this.deps.budget?.acquire(interactive ? 'interactive' : 'bulk');
    const token = this.client.config.accessToken;
    try {
      return await withTimeout(fn, timeoutMs ?? (interactive ? this.settings.lookupTimeoutMs : writeTimeoutMs(this.settings.lookupTimeoutMs)), { signal });
    } catch (err) {
      const e = classifyHubSpotError(err);
      if (e.kind === 'auth' && this.settings.auth.flow === 'oauth' && !retried) {
        // A request sent with a token another request has already replaced just goes again with the new one.
        if (this.client.config.accessToken === token) await this.refresh(true);
        return this.call(what, signal, fn, true, timeoutMs);
      }
      throw e;
    }
  }

  private async ensureToken() {
    if (this.settings.auth.flow !== 'oauth' || this.client.config.accessToken) return;
    const cached = await this.deps.redis.get(new CrmConnectionKeys(this.deps.keyPrefix).accessToken());
    if (cached) this.client.setAccessToken(cached);
    else await this.refresh(false);
  }

  /** One refresh at a time per connection; the new token is shared with other instances through Redis. */
  private refresh(force: boolean): Promise<void> {
    this.refreshing ??= (async () => {
      const auth = this.settings.auth;
      if (auth.flow !== 'oauth') return;
      const key = new CrmConnectionKeys(this.deps.keyPrefix).accessToken();
      const shared = force ? undefined : await this.deps.redis.get(key);
      if (shared) {
        this.client.setAccessToken(shared);
        return;
      }
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
