import { randomBytes } from 'node:crypto';
import { digitsOf, FakeRequest, FakeResponse, FakeServer } from './fake-server';

/**
 * A fake HubSpot CRM v3 API, following HubSpot's documented paths and shapes: contacts and calls
 * search (filterGroups OR-ed, filters AND-ed, 5 groups / 6 filters per group / 18 in total),
 * calls with associations, account info, owners, call properties, private-app and OAuth tokens,
 * and the TEN_SECONDLY_ROLLING / DAILY 429s with their X-HubSpot-RateLimit-* headers.
 */
interface HsObject {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  associations?: { to: { id: string }; types: { associationCategory: string; associationTypeId: number }[] }[];
}

export interface FakeHubSpotOptions {
  tokens?: string[];
  oauth?: { clientId: string; clientSecret: string; refreshToken: string };
  portalId?: number;
  uiDomain?: string;
}

export class FakeHubSpot extends FakeServer {
  readonly contacts: HsObject[] = [];
  readonly callObjects: HsObject[] = [];
  readonly owners: { id: string; email: string; firstName: string; lastName: string; userId: number }[] = [];
  readonly callProperties = new Set<string>();
  private readonly tokens: Set<string>;
  private oauthTokens = new Set<string>();
  private seq = 100;
  private limit?: { perWindow: number; windowMs: number; daily?: number; hits: number[]; dailyHits: number };

  constructor(private readonly opts: FakeHubSpotOptions = {}) {
    super(
      (req) => this.route(req),
      (req) => this.gateCheck(req),
    );
    this.tokens = new Set(opts.tokens ?? ['pat-test-token']);
  }

  addContact(properties: Record<string, string>): string {
    const id = String(++this.seq);
    const now = new Date(Date.now() - 86_400_000 + this.seq).toISOString();
    this.contacts.push({ id, properties: { ...properties, ...calculated(properties), hs_object_id: id, lastmodifieddate: now, createdate: now }, createdAt: now, updatedAt: now });
    return id;
  }

  addOwner(owner: { id: string; email: string; firstName?: string; lastName?: string }) {
    this.owners.push({ firstName: '', lastName: '', userId: Number(owner.id), ...owner });
  }

  calls(): HsObject[] {
    return this.callObjects;
  }

  expireAccessTokens() {
    this.oauthTokens.clear();
  }

  /** Switches HubSpot's rate limits on: a rolling window per token, and optionally a daily total. */
  setRateLimit(limit: { perWindow: number; windowMs: number; daily?: number }) {
    this.limit = { ...limit, hits: [], dailyHits: 0 };
  }

  private gateCheck(req: FakeRequest): FakeResponse | undefined {
    if (req.path === '/oauth/v1/token') return undefined;
    const auth = String(req.headers.authorization ?? '');
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (!this.tokens.has(token) && !this.oauthTokens.has(token)) {
      const expired = token.startsWith('oauth-');
      return {
        status: 401,
        body: expired
          ? { status: 'error', message: 'The OAuth token used to make this call expired 1 second(s) ago.', correlationId: cid(), category: 'EXPIRED_AUTHENTICATION' }
          : { status: 'error', message: 'Authentication credentials not found.', correlationId: cid(), category: 'INVALID_AUTHENTICATION' },
      };
    }
    if (!this.limit) return undefined;
    const now = Date.now();
    const l = this.limit;
    l.hits = l.hits.filter((t) => now - t < l.windowMs);
    const headers = (remaining: number, dailyRemaining: number) => ({
      'X-HubSpot-RateLimit-Max': String(l.perWindow),
      'X-HubSpot-RateLimit-Remaining': String(Math.max(0, remaining)),
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(l.windowMs),
      ...(l.daily ? { 'X-HubSpot-RateLimit-Daily': String(l.daily), 'X-HubSpot-RateLimit-Daily-Remaining': String(Math.max(0, dailyRemaining)) } : {}),
    });
    if (l.daily !== undefined && l.dailyHits >= l.daily) {
      return { status: 429, headers: headers(0, 0), body: { status: 'error', message: 'You have reached your daily limit.', errorType: 'RATE_LIMIT', correlationId: cid(), policyName: 'DAILY', groupName: 'api' } };
    }
    if (l.hits.length >= l.perWindow) {
      return {
        status: 429,
        headers: headers(0, (l.daily ?? 0) - l.dailyHits),
        body: { status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT', correlationId: cid(), policyName: 'TEN_SECONDLY_ROLLING', groupName: 'api' },
      };
    }
    l.hits.push(now);
    l.dailyHits += 1;
    return undefined;
  }

  private route(req: FakeRequest): FakeResponse {
    const { method, path } = req;
    if (method === 'POST' && path === '/oauth/v1/token') return this.oauth(req);
    if (method === 'POST' && path === '/crm/v3/objects/contacts/search') return this.search(this.contacts, req.body);
    if (method === 'POST' && path === '/crm/v3/objects/calls/search') return this.search(this.callObjects, req.body);
    if (method === 'POST' && path === '/crm/v3/objects/calls') return this.createCall(req.body);
    if (method === 'POST' && path === '/crm/v3/objects/calls/batch/create') return this.batchCreate(req.body);
    if (method === 'GET' && path.startsWith('/crm/v3/objects/calls/')) {
      const call = this.callObjects.find((c) => c.id === path.split('/').pop());
      return call ? { status: 200, body: view(call) } : notFound('Object not found.');
    }
    if (method === 'GET' && path === '/account-info/v3/details') {
      return { status: 200, body: { portalId: this.opts.portalId ?? 4242, uiDomain: this.opts.uiDomain ?? 'app.hubspot.com', timeZone: 'US/Eastern', companyCurrency: 'USD', additionalCurrencies: [], utcOffset: '-05:00', utcOffsetMilliseconds: -18_000_000, dataHostingLocation: 'na1' } };
    }
    if (method === 'GET' && (path === '/crm/v3/owners' || path === '/crm/v3/owners/')) {
      const email = req.query.get('email');
      const results = this.owners.filter((o) => !email || o.email.toLowerCase() === email.toLowerCase());
      return { status: 200, body: { results: results.map((o) => ({ ...o, archived: false, createdAt: new Date(0).toISOString(), updatedAt: new Date(0).toISOString() })) } };
    }
    if (method === 'GET' && path.startsWith('/crm/v3/properties/calls/')) {
      const name = path.split('/').pop()!;
      return this.callProperties.has(name) ? { status: 200, body: property(name) } : notFound(`Unable to find property ${name}`);
    }
    if (method === 'POST' && path === '/crm/v3/properties/calls') {
      const name = String(req.body?.name ?? '');
      if (this.callProperties.has(name)) return { status: 409, body: { status: 'error', message: `A property named '${name}' already exists.`, correlationId: cid(), category: 'OBJECT_ALREADY_EXISTS' } };
      this.callProperties.add(name);
      return { status: 201, body: property(name) };
    }
    return notFound(`No route for ${method} ${path}`);
  }

  private oauth(req: FakeRequest): FakeResponse {
    const o = this.opts.oauth;
    const b = req.body as Record<string, string>;
    if (!o || b.grant_type !== 'refresh_token' || b.client_id !== o.clientId || b.client_secret !== o.clientSecret || b.refresh_token !== o.refreshToken) {
      return { status: 400, body: { status: 'BAD_REFRESH_TOKEN', message: 'missing or unknown refresh token', correlationId: cid() } };
    }
    const token = `oauth-${randomBytes(8).toString('hex')}`;
    this.oauthTokens.add(token);
    return { status: 200, body: { token_type: 'bearer', refresh_token: o.refreshToken, access_token: token, expires_in: 1800 } };
  }

  private search(objects: HsObject[], body: any): FakeResponse {
    const groups: { filters: { propertyName: string; operator: string; value?: string; values?: string[] }[] }[] = body?.filterGroups ?? [];
    const total = groups.reduce((n, g) => n + g.filters.length, 0);
    if (groups.length > 5 || groups.some((g) => g.filters.length > 6) || total > 18) {
      return { status: 400, body: { status: 'error', message: 'There was a problem with the request: too many filters (max 5 filterGroups, 6 filters per group, 18 in total).', correlationId: cid(), category: 'VALIDATION_ERROR' } };
    }
    const matches = (o: HsObject) =>
      groups.length === 0 ||
      groups.some((g) =>
        g.filters.every((f) => {
          const v = o.properties[f.propertyName];
          switch (f.operator) {
            case 'EQ':
              return v != null && String(v).toLowerCase() === String(f.value).toLowerCase();
            case 'IN':
              return v != null && (f.values ?? []).map((x) => String(x).toLowerCase()).includes(String(v).toLowerCase());
            case 'CONTAINS_TOKEN':
              return v != null && String(v).toLowerCase().includes(String(f.value).replace(/\*/g, '').toLowerCase());
            case 'HAS_PROPERTY':
              return v != null && v !== '';
            default:
              return false;
          }
        }),
      );
    let results = objects.filter(matches);
    const sort = body?.sorts?.[0];
    if (sort?.propertyName) {
      const dir = sort.direction === 'ASCENDING' ? 1 : -1;
      results = [...results].sort((a, b) => dir * String(a.properties[sort.propertyName] ?? '').localeCompare(String(b.properties[sort.propertyName] ?? '')));
    }
    const limit = Math.min(Number(body?.limit ?? 10), 200);
    const props: string[] | undefined = body?.properties;
    return { status: 200, body: { total: results.length, results: results.slice(0, limit).map((o) => view(o, props)) } };
  }

  private createCall(body: any): FakeResponse {
    const properties = (body?.properties ?? {}) as Record<string, string>;
    const owner = properties.hubspot_owner_id;
    if (owner && this.owners.length > 0 && !this.owners.some((o) => o.id === owner)) {
      return { status: 400, body: { status: 'error', message: `Property values were not valid: [{"isValid":false,"message":"${owner} is not a valid owner id","error":"INVALID_OWNER_ID","name":"hubspot_owner_id"}]`, correlationId: cid(), category: 'VALIDATION_ERROR' } };
    }
    if (!properties.hs_timestamp) {
      return { status: 400, body: { status: 'error', message: 'Property values were not valid: hs_timestamp is required', correlationId: cid(), category: 'VALIDATION_ERROR' } };
    }
    for (const a of body?.associations ?? []) {
      if (!this.contacts.some((c) => c.id === String(a.to?.id))) {
        return { status: 400, body: { status: 'error', message: `Association to contact ${a.to?.id} is invalid: object not found`, correlationId: cid(), category: 'VALIDATION_ERROR' } };
      }
    }
    const now = new Date().toISOString();
    const call: HsObject = { id: String(++this.seq), properties: { ...properties, hs_object_id: '', hs_createdate: now }, createdAt: now, updatedAt: now, associations: body?.associations ?? [] };
    call.properties.hs_object_id = call.id;
    this.callObjects.push(call);
    return { status: 201, body: view(call) };
  }

  private batchCreate(body: any): FakeResponse {
    const inputs = body?.inputs ?? [];
    if (inputs.length > 100) return { status: 400, body: { status: 'error', message: 'Batch size must be at most 100', correlationId: cid(), category: 'VALIDATION_ERROR' } };
    const startedAt = new Date().toISOString();
    const results = [];
    for (const input of inputs) {
      const r = this.createCall(input);
      if (r.status !== 201) return r;
      results.push(r.body);
    }
    return { status: 201, body: { status: 'COMPLETE', results, startedAt, completedAt: new Date().toISOString() } };
  }
}

/** HubSpot fills hs_searchable_calculated_* with the digits of the number without its country code. */
function calculated(p: Record<string, string>): Record<string, string> {
  const national = (n?: string) => {
    if (!n) return undefined;
    const d = digitsOf(n);
    return n.trim().startsWith('+') && d.startsWith('1') && d.length === 11 ? d.slice(1) : d;
  };
  const out: Record<string, string> = {};
  const phone = national(p.phone);
  const mobile = national(p.mobilephone);
  if (phone) out.hs_searchable_calculated_phone_number = phone;
  if (mobile) out.hs_searchable_calculated_mobile_number = mobile;
  return out;
}

function view(o: HsObject, props?: string[]) {
  const properties = props ? Object.fromEntries(['hs_object_id', ...props].map((k) => [k, o.properties[k] ?? null])) : o.properties;
  return { id: o.id, properties, createdAt: o.createdAt, updatedAt: o.updatedAt, archived: false };
}

function property(name: string) {
  return { name, label: name, type: 'string', fieldType: 'text', groupName: 'callinformation', hasUniqueValue: false, hidden: false, formField: false, calculated: false, externalOptions: false, options: [], modificationMetadata: { archivable: true, readOnlyDefinition: false, readOnlyValue: false } };
}

function notFound(message: string): FakeResponse {
  return { status: 404, body: { status: 'error', message, correlationId: cid(), category: 'OBJECT_NOT_FOUND' } };
}

function cid() {
  return randomBytes(8).toString('hex');
}

export async function startFakeHubSpot(opts: FakeHubSpotOptions = {}): Promise<FakeHubSpot> {
  return new FakeHubSpot(opts).start();
}
