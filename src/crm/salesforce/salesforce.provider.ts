import { CrmConnectionKeys } from '../../redis/redis-keys';
import { Connection, QueryResult, Record as SfRecord } from 'jsforce';
import { maskNumber } from '../../logging/logger';
import { withTimeout } from '../../common/with-timeout';
import { ActivityPatch, CallLogInput, CrmContextItem, CrmError, CrmHealth, CrmMatch, CrmProvider, FollowUpInput, LoggedActivity, NewContactInput, PhoneQuery } from '../crm-provider';
import { writeTimeoutMs } from '../provider-definition';
import { RequestBudgetHandle } from '../request-budget';
import { SalesforceAuthDeps, SalesforceAuthManager } from './salesforce-auth';
import { classifySalesforceError } from './salesforce-errors';
import { withNumberLock } from '../number-lock';
import { leadByPhone, newLead } from './salesforce-lead';
import { chunkPhoneQueries, contextQuery, PHONE_FIELDS, phoneFieldHolding, phoneSearch, RECORD_RANK, soqlString } from './salesforce-queries';
import { SalesforceHttpError, SalesforceTransport } from './salesforce-transport';
import { callTask, followUpTask, recordError, taskPatch } from './salesforce-task';
import { lightningBase, newContactUrl, recordUrl } from './salesforce-urls';
import { SalesforceSettings } from './salesforce.settings';

/**
 * Salesforce through jsforce: SOSL phone search, a Task per call, the three OAuth flows. jsforce's
 * own HTTP retries are off (see SalesforceTransport): the connector decides retries from the
 * classified errors, and lookups give up after `lookupTimeoutMs`.
 */
export class SalesforceProvider implements CrmProvider {
  readonly type = 'salesforce';
  /** sObject Collections take 200 records per request. */
  readonly maxBatch = 200;
  private readonly conn: Connection;
  private readonly auth: SalesforceAuthManager;

  constructor(
    readonly connection: string,
    private readonly settings: SalesforceSettings,
    private readonly deps: SalesforceAuthDeps & { budget?: RequestBudgetHandle },
  ) {
    this.auth = new SalesforceAuthManager(settings, deps, writeTimeoutMs(settings.lookupTimeoutMs));
    this.conn = new Connection({
      loginUrl: settings.loginUrl,
      instanceUrl: settings.instanceUrl,
      version: settings.version,
      // On a 401 jsforce calls this once for all requests in flight, then repeats them.
      refreshFn: (conn, callback) => {
        this.auth.renew(conn.accessToken ?? undefined).then(
          (session) => {
            conn.instanceUrl = session.instanceUrl;
            callback(null, session.accessToken);
          },
          (err: unknown) => {
            callback(err instanceof Error ? err : new Error(String(err)));
          },
        );
      },
    });
    this.conn._transport = new SalesforceTransport(writeTimeoutMs(settings.lookupTimeoutMs), true);
  }

  /**
   * One SOSL search, then (when a match has an Account) one SOQL for the open opportunities and
   * cases the card shows: two requests at most. The context gets what is left of
   * `lookupTimeoutMs`; when it fails or runs out, the matches come without it.
   */
  async findContactsByPhone(query: PhoneQuery, opts: { signal?: AbortSignal } = {}): Promise<CrmMatch[]> {
    const deadline = Date.now() + this.settings.lookupTimeoutMs;
    const result = await this.call('lookup', opts.signal, () => this.conn.search(phoneSearch(query)));
    const base = this.linkBase();
    const records = result.searchRecords;
    const matches = rank(records.map((r) => this.toMatch(r, base, query)));
    await this.addContext(matches, records, deadline, opts.signal);
    this.deps.logger.debug({ event: 'crm.lookup', number: maskNumber(query.raw), matches: matches.length }, 'Salesforce phone fields searched');
    return matches;
  }

  /**
   * Call-log lookups under load: one SOSL search for up to 60 numbers (their forms OR-ed, within
   * SOSL's 4,000-character limit on FIND {…}) instead of one each; each record found goes to the
   * numbers its phone fields hold. No context: nobody reads a card from here.
   */
  async findContactsByPhones(queries: PhoneQuery[]): Promise<CrmMatch[][]> {
    const results = await Promise.all(
      chunkPhoneQueries(queries).map(async (chunk) => {
        const result = await this.call('lookupBatch', undefined, () => this.conn.search(phoneSearch(chunk)));
        const base = this.linkBase();
        return chunk.map((q) => rank(result.searchRecords.filter((r) => phoneFieldHolding(r, type(r), q)).map((r) => this.toMatch(r, base, q))));
      }),
    );
    return results.flat();
  }

  /** Each match's Account's open opportunities and cases (a Lead has none), from one SOQL with child subqueries. */
  private async addContext(matches: CrmMatch[], records: SfRecord[], deadline: number, signal?: AbortSignal): Promise<void> {
    const accountOf = new Map(records.map((r) => [r.Id as string, type(r) === 'Account' ? (r.Id as string) : type(r) === 'Contact' ? (r.AccountId as string | null) : null]));
    const accountIds = [...new Set([...accountOf.values()].filter((id): id is string => !!id))];
    const left = deadline - Date.now();
    if (accountIds.length === 0 || left < 100) return;
    try {
      const soql = contextQuery(accountIds);
      const found = await this.call<QueryResult<SfRecord>>('lookupContext', signal, () => this.conn.query<SfRecord>(soql).then((r) => r), left);
      const base = this.linkBase();
      const byAccount = new Map(found.records.map((a) => [a.Id as string, accountContext(a, base)]));
      for (const m of matches) {
        const account = accountOf.get(m.id);
        if (account) m.context = byAccount.get(account) ?? [];
      }
    } catch (err) {
      this.deps.logger.warn({ event: 'crm.lookup_context_failed', connection: this.connection, err: (err as Error).message }, 'Salesforce context query failed; the card shows the matches without it');
    }
  }

  async logCall(input: CallLogInput): Promise<LoggedActivity> {
    // A retry after Salesforce created the Task but the answer was lost finds it here.
    const existing = await this.findTasks(input.mayExist === false ? [] : [input.key]);
    const found = existing.get(input.key);
    if (found) return { id: found, url: recordUrl(this.linkBase(), 'Task', found), created: false };
    const saved = await this.call('logCall', undefined, () => this.conn.sobject('Task').create(callTask(input, this.settings.callKeyField)));
    if (!saved.success) throw recordError(saved.errors);
    return { id: saved.id, url: recordUrl(this.linkBase(), 'Task', saved.id), created: true };
  }

  /**
   * Up to 200 calls in two requests: one query for Tasks already carrying their keys, one sObject
   * Collections create (allOrNone false, so one refused Task does not sink the others).
   */
  async logCalls(inputs: CallLogInput[]): Promise<(LoggedActivity | CrmError)[]> {
    const existing = await this.findTasks(inputs.filter((i) => i.mayExist !== false).map((i) => i.key));
    const pending = [...new Map(inputs.filter((i) => !existing.has(i.key)).map((i) => [i.key, i])).values()];
    const created = new Map<string, string | CrmError>();
    if (pending.length > 0) {
      const saved = await this.call('logCalls', undefined, () =>
        this.conn.sobject('Task').create(
          pending.map((i) => callTask(i, this.settings.callKeyField)),
          { allOrNone: false },
        ),
      );
      saved.forEach((s, n) => created.set(pending[n].key, s.success ? s.id : recordError(s.errors)));
    }
    const base = this.linkBase();
    return inputs.map((i) => {
      const before = existing.get(i.key);
      if (before) return { id: before, url: recordUrl(base, 'Task', before), created: false };
      const id = created.get(i.key);
      if (id instanceof CrmError) return id;
      return id ? { id, url: recordUrl(base, 'Task', id), created: true } : new CrmError('retryable', `Salesforce's answer did not include the Task for ${i.key}`);
    });
  }

  /** Tasks already carrying these idempotency keys: key → Task id. */
  private async findTasks(keys: string[]): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const field = this.settings.callKeyField;
    const soql = `SELECT Id, ${field} FROM Task WHERE ${field} IN (${keys.map(soqlString).join(', ')})`;
    const result = await this.call<QueryResult<Record<string, string>>>('findTask', undefined, () => this.conn.query<Record<string, string>>(soql).then((r) => r));
    return new Map(result.records.map((r) => [r[field], r.Id]));
  }

  /**
   * A Lead for an unknown caller (see newLead), once per number: under a per-number lock, an open
   * Lead already holding the number (an earlier attempt whose answer was lost, or another call's)
   * is returned instead of creating a second.
   */
  async createContact(input: NewContactInput): Promise<CrmMatch> {
    const lockKey = new CrmConnectionKeys(this.deps.keyPrefix).newLead(input.number);
    return withNumberLock(this.deps.redis, lockKey, writeTimeoutMs(this.settings.lookupTimeoutMs), 'Another worker is still creating a Lead for this number; the call will be retried.', async () => {
      const found = await this.call<QueryResult<SfRecord>>('findLead', undefined, () => this.conn.query<SfRecord>(leadByPhone(input.number)).then((r) => r));
      const base = () => this.linkBase();
      if (found.records[0]) return this.toMatch({ ...found.records[0], attributes: { type: 'Lead', url: '' } }, base());
      const lead = newLead(input, this.settings.newLeadCompany);
      const saved = await this.call('createContact', undefined, () => this.conn.sobject('Lead').create(lead));
      if (!saved.success) throw recordError(saved.errors);
      this.deps.logger.debug({ event: 'crm.contact_created', number: maskNumber(input.number), id: saved.id }, 'Salesforce Lead created for an unknown caller');
      return this.toMatch({ ...lead, Id: saved.id, Name: lead.LastName, attributes: { type: 'Lead', url: '' } }, base());
    });
  }

  /**
   * PATCH of the call's Task: Subject, Description, CallDisposition, and WhoId/WhatId when the
   * agent moved the call to another record. Setting the same values again changes nothing.
   */
  async updateCall(activityId: string, patch: ActivityPatch): Promise<void> {
    const fields = taskPatch(patch);
    if (Object.keys(fields).length === 0) return;
    const saved = await this.call('updateCall', undefined, () => this.conn.sobject('Task').update({ Id: activityId, ...fields }));
    if (!saved.success) throw recordError(saved.errors);
  }

  /**
   * An open Task to call the customer back, once per key: a Task already carrying the key (an
   * earlier attempt whose answer was lost) is returned instead of creating a second. Follow-ups
   * are rare (missed calls only), so the query runs on every attempt.
   */
  async createTask(input: FollowUpInput): Promise<LoggedActivity> {
    const found = (await this.findTasks([input.key])).get(input.key);
    if (found) return { id: found, url: recordUrl(this.linkBase(), 'Task', found), created: false };
    const saved = await this.call('createTask', undefined, () => this.conn.sobject('Task').create(followUpTask(input, this.settings.callKeyField)));
    if (!saved.success) throw recordError(saved.errors);
    return { id: saved.id, url: recordUrl(this.linkBase(), 'Task', saved.id), created: true };
  }

  async health(): Promise<CrmHealth> {
    try {
      const limits = await this.call('health', undefined, () => this.conn.limits());
      // As the org sent it: jsforce's type promises DailyApiRequests, the connector does not rely on it.
      const daily = (limits as Partial<typeof limits>).DailyApiRequests;
      return { ok: true, detail: `${this.conn.instanceUrl}${daily ? `, API requests left today ${daily.Remaining}/${daily.Max}` : ''}` };
    } catch (err) {
      const e = classifySalesforceError(err);
      return { ok: false, detail: `${e.kind}: ${e.message}` };
    }
  }

  newContactUrl(number: string): string | undefined {
    const base = this.lightning();
    return base ? newContactUrl(base, number) : undefined;
  }

  async findUserIdByEmail(email: string): Promise<string | undefined> {
    const result = await this.call<QueryResult<{ Id: string }>>('findOwner', undefined, () =>
      this.conn.query<{ Id: string }>(`SELECT Id FROM User WHERE Email = ${soqlString(email)} AND IsActive = true LIMIT 1`).then((r) => r),
    );
    return result.records[0]?.Id;
  }

  private toMatch(record: SfRecord, base: string, query?: PhoneQuery): CrmMatch {
    const r = record as SfMatchFields;
    const kind = type(record);
    const field = query ? (phoneFieldHolding(r, kind, query) ?? PHONE_FIELDS[kind]?.find((f) => !!r[f])) : undefined;
    return {
      connection: this.connection,
      recordType: kind,
      id: r.Id,
      displayName: r.Name ?? r.Phone ?? `${kind} ${r.Id}`,
      company: kind === 'Contact' ? (r.Account?.Name ?? undefined) : kind === 'Lead' ? (r.Company ?? undefined) : undefined,
      title: r.Title ?? undefined,
      email: r.Email ?? undefined,
      phone: (field && (r[field] as string | undefined)) ?? r.Phone ?? r.MobilePhone ?? undefined,
      ownerId: r.OwnerId ?? undefined,
      ownerName: r.Owner?.Name ?? undefined,
      url: recordUrl(base, kind, r.Id),
      lastActivityAt: r.LastActivityDate ?? r.LastModifiedDate ?? undefined,
      ...(field ? { matchedOn: { object: kind, field } } : {}),
    };
  }

  /** Lightning base URL, once the instance is known (configured, or from the first token). */
  /** The base of record links; every caller has just talked to Salesforce, so the connection knows its instance. */
  private linkBase(): string {
    const base = this.lightning();
    if (base === undefined) throw new Error(`Salesforce connection "${this.connection}" has no instance URL to link records to: set instanceUrl or lightningUrl in its settings`);
    return base;
  }

  private lightning(): string | undefined {
    const instance = this.conn.instanceUrl || this.settings.instanceUrl;
    return this.settings.lightningUrl || instance ? lightningBase(instance ?? '', this.settings.lightningUrl) : undefined;
  }

  /** Runs one jsforce call with a session, our time-out, and errors classified. */
  private async call<T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
    const started = Date.now();
    const interactive = what === 'lookup' || what === 'lookupContext';
    const ms = timeoutMs ?? (interactive ? this.settings.lookupTimeoutMs : writeTimeoutMs(this.settings.lookupTimeoutMs));
    try {
      return await withTimeout(
        async () => {
          // Screen-pop lookups may use the whole budget; everything else leaves them a share.
          await this.deps.budget?.acquire(interactive ? 'interactive' : 'bulk');
          if (!this.conn.accessToken) {
            const session = await this.auth.session();
            this.conn.accessToken = session.accessToken;
            this.conn.instanceUrl = session.instanceUrl;
          }
          return fn();
        },
        ms,
        { signal },
      );
    } catch (err) {
      // jsforce re-wraps a failed refresh as a plain Error: report the grant's own classified failure.
      const grant = this.auth.lastFailure;
      if (grant && grant.at >= started && !(err instanceof SalesforceHttpError) && !(err instanceof CrmError)) throw grant.error;
      throw classifySalesforceError(err);
    }
  }
}

/** The fields toMatch reads of a looked-up Contact, Lead or Account (jsforce types every field `any`). */
type SfMatchFields = {
  [field: string]: unknown;
  // Every SOSL and SOQL here selects Id.
  Id: string;
  Name?: string | null;
  Phone?: string | null;
  MobilePhone?: string | null;
  Company?: string | null;
  Title?: string | null;
  Email?: string | null;
  OwnerId?: string | null;
  Owner?: { Name?: string | null } | null;
  Account?: { Name?: string | null } | null;
  LastActivityDate?: string | null;
  LastModifiedDate?: string | null;
};

function type(r: SfRecord): string {
  return r.attributes?.type ?? 'Contact';
}

/** What the card shows of an Account (from contextQuery): its open opportunities and cases, a few named. */
function accountContext(account: SfRecord, base: string): CrmContextItem[] {
  const items: CrmContextItem[] = [];
  // Child subqueries select Id.
  const child = (rel: string) => account[rel] as { totalSize: number; records: (SfRecord & { Id: string })[] } | null | undefined;
  const opportunities = child('Opportunities');
  if (opportunities?.totalSize) {
    const named = opportunities.records.slice(0, 3).map((o) => ({ name: String(o.Name ?? o.Id), url: recordUrl(base, 'Opportunity', o.Id) }));
    items.push({ kind: 'deals', label: 'Open opportunities', count: opportunities.totalSize, items: named });
  }
  const cases = child('Cases');
  if (cases?.totalSize) {
    const named = cases.records.slice(0, 3).map((c) => ({ name: [c.CaseNumber, c.Subject].filter(Boolean).join(': ') || c.Id, url: recordUrl(base, 'Case', c.Id) }));
    items.push({ kind: 'cases', label: 'Open cases', count: cases.totalSize, items: named });
  }
  return items;
}

/** Contact, Lead, Account; then most recent activity first (a record with no activity date falls back to its last change). */
function rank(matches: CrmMatch[]): CrmMatch[] {
  return matches.sort((a, b) => (RECORD_RANK[a.recordType] ?? 9) - (RECORD_RANK[b.recordType] ?? 9) || (b.lastActivityAt ?? '').localeCompare(a.lastActivityAt ?? ''));
}
