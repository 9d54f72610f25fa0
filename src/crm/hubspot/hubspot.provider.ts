import { Client } from '@hubspot/api-client';
import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/contacts';
import { AssociationSpecAssociationCategoryEnum } from '@hubspot/api-client/lib/codegen/crm/objects/calls';
import { PropertyCreateFieldTypeEnum, PropertyCreateTypeEnum } from '@hubspot/api-client/lib/codegen/crm/properties';
import Redis from 'ioredis';
import { Logger } from 'pino';
import { CallRecord } from '../../calls/call-record';
import { maskNumber } from '../../logging/logger';
import { CallLogInput, CrmError, CrmHealth, CrmMatch, CrmProvider, LoggedActivity, PhoneQuery } from '../crm-provider';
import { classifyHubSpotError } from './hubspot-errors';
import { HubSpotSettings } from './hubspot.settings';

const CONTACT_PROPERTIES = ['firstname', 'lastname', 'email', 'company', 'jobtitle', 'phone', 'mobilephone', 'hubspot_owner_id', 'notes_last_updated', 'lastmodifieddate'];
/** Call → contact, HubSpot-defined (Associations v4 type ids). */
const CALL_TO_CONTACT = 194;
const STATUS: Record<CallRecord['outcome'], string> = { answered: 'COMPLETED', missed: 'NO_ANSWER', busy: 'BUSY', failed: 'FAILED', cancelled: 'CANCELED', ringing: 'RINGING', talking: 'IN_PROGRESS' };
/** HubSpot's default call outcomes (Connected, No answer, Busy): ids documented as the same in every portal. */
const DISPOSITION: Partial<Record<CallRecord['outcome'], string>> = {
  answered: 'f240bbac-87c9-4f6e-bf70-924b57d47db7',
  missed: '73a0d17f-1163-4015-bdd5-ec830791da20',
  busy: '9d9162e7-6cf3-4944-bf63-4dff82258764',
};

export interface HubSpotDeps {
  secret(name: string): string;
  redis: Redis;
  keyPrefix: string;
  logger: Logger;
}

/**
 * HubSpot through @hubspot/api-client with the SDK's own retries and limiter off (they are
 * process-global, and they ignore Retry-After and DAILY limits): the connector decides retries
 * from classified errors and schedules against its own budget.
 */
export class HubSpotProvider implements CrmProvider {
  readonly type = 'hubspot';
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
    const digits = unique([query.national, ...query.forms.map((f) => f.replace(/\D/g, ''))]);
    const raw = unique([query.e164, query.raw]);
    const filterGroups = [
      { filters: [{ propertyName: 'hs_searchable_calculated_phone_number', operator: FilterOperatorEnum.In, values: digits }] },
      { filters: [{ propertyName: 'hs_searchable_calculated_mobile_number', operator: FilterOperatorEnum.In, values: digits }] },
      { filters: [{ propertyName: 'phone', operator: FilterOperatorEnum.In, values: raw }] },
      { filters: [{ propertyName: 'mobilephone', operator: FilterOperatorEnum.In, values: raw }] },
    ];
    const result = await this.call('lookup', opts.signal, () =>
      this.client.crm.contacts.searchApi.doSearch({ filterGroups, properties: CONTACT_PROPERTIES, limit: 20, sorts: [{ propertyName: 'lastmodifieddate', direction: 'DESCENDING' }] as never, after: undefined as never }),
    );
    const portal = await this.portalInfo();
    this.deps.logger.debug({ event: 'crm.lookup', number: maskNumber(query.raw), matches: result.results.length }, 'HubSpot contacts searched');
    const matches = result.results.map((c) => {
      const p = c.properties;
      const name = [p.firstname, p.lastname].filter(Boolean).join(' ');
      return {
        connection: this.connection,
        recordType: 'contact',
        id: c.id,
        displayName: name || p.email || p.phone || p.mobilephone || `Contact ${c.id}`,
        company: p.company ?? undefined,
        title: p.jobtitle ?? undefined,
        email: p.email ?? undefined,
        phone: p.phone ?? p.mobilephone ?? undefined,
        ownerId: p.hubspot_owner_id ?? undefined,
        url: `https://${portal.uiDomain}/contacts/${portal.portalId}/record/0-1/${c.id}`,
        lastActivityAt: p.notes_last_updated ?? p.lastmodifieddate ?? undefined,
      };
    });
    // Most recently active first, whatever order the search returned.
    return matches.sort((a, b) => String(b.lastActivityAt ?? '').localeCompare(String(a.lastActivityAt ?? '')));
  }

  async logCall(input: CallLogInput): Promise<LoggedActivity> {
    const keyProperty = this.settings.callKeyProperty;
    await this.ensureKeyProperty();
    // A retry after HubSpot created the call but the answer was lost finds it here.
    const existing = await this.call('findCall', undefined, () =>
      this.client.crm.objects.calls.searchApi.doSearch({ filterGroups: [{ filters: [{ propertyName: keyProperty, operator: FilterOperatorEnum.Eq as never, value: input.key }] }], properties: [keyProperty], limit: 1, after: undefined as never, sorts: [] }),
    );
    const contact = input.match?.recordType === 'contact' ? input.match : undefined;
    if (existing.results.length > 0) return { id: existing.results[0].id, url: contact?.url, created: false };

    const r = input.record;
    const properties: Record<string, string> = {
      hs_timestamp: new Date(r.startedAt).toISOString(),
      hs_call_title: input.subject,
      hs_call_body: input.description,
      hs_call_direction: r.direction === 'inbound' ? 'INBOUND' : 'OUTBOUND',
      hs_call_duration: String((r.talkSeconds ?? 0) * 1000),
      hs_call_status: STATUS[r.outcome],
      [keyProperty]: input.key,
    };
    if (DISPOSITION[r.outcome]) properties.hs_call_disposition = DISPOSITION[r.outcome]!;
    const from = r.caller.number ?? r.caller.extension;
    const to = r.callee.number ?? r.callee.did ?? r.callee.extension;
    if (from) properties.hs_call_from_number = from;
    if (to) properties.hs_call_to_number = to;
    if (input.ownerId) properties.hubspot_owner_id = input.ownerId;
    const associations = contact
      ? [{ to: { id: contact.id }, types: [{ associationCategory: AssociationSpecAssociationCategoryEnum.HubspotDefined, associationTypeId: CALL_TO_CONTACT }] }]
      : [];
    const created = await this.call('logCall', undefined, () => this.client.crm.objects.calls.basicApi.create({ properties, associations }));
    return { id: created.id, url: contact?.url, created: true };
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

function unique(values: (string | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => !!v))];
}
