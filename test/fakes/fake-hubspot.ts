import { randomBytes } from 'node:crypto';
import { BUILT_IN, calculated, cid, HsObject, notFound, ObjectType, property, uniqueConflict, view } from './fake-hubspot-shapes';
import { FakeRequest, FakeResponse, FakeServer } from './fake-server';

/**
 * A fake HubSpot CRM v3 API, following HubSpot's documented paths and shapes: contacts and calls
 * search (filterGroups OR-ed, filters AND-ed, 5 groups / 6 filters per group / 18 in total),
 * deals search with the `associations.contact` filter (deals added with addDeal), contact and call
 * create (single and batch) with associations, reads by id or by a unique
 * property (`idProperty`, single and batch), account info, owners, call and contact properties
 * (`hasUniqueValue` enforced the way HubSpot answers a duplicate: 400 VALIDATION_ERROR, "… on
 * <new id>. <existing id> already has that value."), private-app and OAuth tokens, the
 * TEN_SECONDLY_ROLLING / DAILY 429s with their X-HubSpot-RateLimit-* headers, and an optional
 * search-index lag (a new object is searchable only `searchLagMs` after its creation). Also the
 * desk's writes: PATCH of an object (read-only properties refused), tasks (create, read by key,
 * search), call associations through the v4 API (list, create, remove), and contacts' marketing
 * status, which follows the portal's switch for the app (`marketingContactsFromApps`) and which
 * the API cannot set.
 */

export interface FakeHubSpotOptions {
  tokens?: string[];
  oauth?: { clientId: string; clientSecret: string; refreshToken: string };
  portalId?: number;
  uiDomain?: string;
  /** Milliseconds before a created object shows up in searches (HubSpot: usually a few seconds). */
  searchLagMs?: number;
  /** The portal's Settings → Integrations → Marketing contacts switch for this app: contacts it creates are marketing contacts. */
  marketingContactsFromApps?: boolean;
  /** Object types on which the portal refuses a unique custom property (400), to exercise the search fallback. */
  uniqueRefusedOn?: ObjectType[];
  /** The app developer account behind the calling settings endpoints: its API key (`hapikey`) and its apps' ids. */
  developer?: { apiKey: string; appIds: string[] };
}

/** What POST /crm/v3/extensions/calling/{appId}/settings requires (HubSpot's reference marks every one required). */
const CALLING_SETTINGS_FIELDS: Record<string, 'string' | 'number' | 'boolean'> = {
  name: 'string',
  url: 'string',
  width: 'number',
  height: 'number',
  isReady: 'boolean',
  supportsCustomObjects: 'boolean',
  supportsInboundCalling: 'boolean',
  usesCallingWindow: 'boolean',
  usesRemote: 'boolean',
};

/** Properties HubSpot computes and the API may not write. */
const READ_ONLY = new Set(['hs_marketable_status', 'hs_object_id', 'hs_createdate']);

export class FakeHubSpot extends FakeServer {
  readonly contacts: HsObject[] = [];
  readonly callObjects: HsObject[] = [];
  readonly taskObjects: HsObject[] = [];
  readonly deals: HsObject[] = [];
  readonly owners: { id: string; email: string; firstName: string; lastName: string; userId: number }[] = [];
  /** Custom properties per object type, name → hasUniqueValue. */
  readonly propertyDefs: Record<ObjectType, Map<string, boolean>> = { calls: new Map(), contacts: new Map(), tasks: new Map() };
  /** Calling settings per app id (the calling extensions settings endpoints). */
  readonly callingSettings = new Map<string, Record<string, unknown>>();
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

  /**
   * A deal associated with these contacts. HubSpot computes `hs_is_closed` from the stage: the
   * default pipeline's closedwon and closedlost stages are closed.
   */
  addDeal(properties: Record<string, string>, contactIds: string[] = []): string {
    const id = String(++this.seq);
    const now = new Date(Date.now() - 3_600_000 + this.seq).toISOString();
    const closed = ['closedwon', 'closedlost'].includes(properties.dealstage);
    this.deals.push({
      id,
      properties: { hs_lastmodifieddate: now, createdate: now, ...properties, hs_is_closed: String(closed), hs_object_id: id },
      createdAt: now,
      updatedAt: now,
      associations: contactIds.map((c) => ({ to: { id: c }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 3 }] })),
    });
    return id;
  }

  addOwner(owner: { id: string; email: string; firstName?: string; lastName?: string }) {
    this.owners.push({ firstName: '', lastName: '', userId: Number(owner.id), ...owner });
  }

  calls(): HsObject[] {
    return this.callObjects;
  }

  tasks(): HsObject[] {
    return this.taskObjects;
  }

  /** Names of the custom call properties. */
  get callProperties(): Set<string> {
    return new Set(this.propertyDefs.calls.keys());
  }

  /** A custom property that already exists in the portal (e.g. one created non-unique by an older connector). */
  addProperty(objectType: ObjectType, name: string, opts: { unique: boolean }) {
    this.propertyDefs[objectType].set(name, opts.unique);
  }

  /** A call created behind the connector's back (another process, or HubSpot's UI). */
  addCall(properties: Record<string, string>): string {
    const r = this.create('calls', { properties: { hs_timestamp: new Date().toISOString(), ...properties } });
    if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    return (r.body as { id: string }).id;
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
    // Calling settings belong to the app's developer account: its API key, not a portal's token.
    if (req.path.startsWith('/crm/v3/extensions/calling/')) {
      return req.query.get('hapikey') === this.opts.developer?.apiKey && this.opts.developer.apiKey
        ? undefined
        : { status: 401, body: { status: 'error', message: 'The API key provided is invalid.', correlationId: cid(), category: 'INVALID_AUTHENTICATION' } };
    }
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
      return {
        status: 429,
        headers: headers(0, 0),
        body: { status: 'error', message: 'You have reached your daily limit.', errorType: 'RATE_LIMIT', correlationId: cid(), policyName: 'DAILY', groupName: 'api' },
      };
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
    if (method === 'POST' && path === '/crm/v3/objects/tasks/search') return this.search(this.taskObjects, req.body);
    const v4 = /^\/crm\/v4\/objects\/(calls|contacts|tasks)\/([^/]+)\/associations\/(\w+)(?:\/([^/]+))?$/.exec(path);
    if (v4) return this.associationsV4(method, v4[1] as ObjectType, v4[2], v4[3], v4[4], req.body);
    if (method === 'POST' && path === '/crm/v3/objects/deals/search') return this.search(this.deals, req.body);
    const objects = /^\/crm\/v3\/objects\/(calls|contacts|tasks)(?:\/(.+))?$/.exec(path);
    if (objects) {
      const type = objects[1] as ObjectType;
      const rest = objects[2] as string | undefined;
      if (method === 'POST' && rest === undefined) return this.create(type, req.body);
      if (method === 'POST' && rest === 'batch/create') return this.batchCreate(type, req.body);
      if (method === 'POST' && rest === 'batch/read') return this.batchRead(type, req.body);
      if (method === 'PATCH' && rest && !rest.includes('/')) return this.update(type, decodeURIComponent(rest), req.body);
      if (method === 'GET' && rest && !rest.includes('/')) {
        const found = this.byId(type, decodeURIComponent(rest), req.query.get('idProperty') ?? undefined);
        if ('status' in found) return found;
        return { status: 200, body: view(found, req.query.get('properties')?.split(',')) };
      }
    }
    const calling = /^\/crm\/v3\/extensions\/calling\/([^/]+)\/settings$/.exec(path);
    if (calling) return this.callingSettingsRoute(method, calling[1], req.body);
    if (method === 'GET' && path === '/account-info/v3/details') {
      return {
        status: 200,
        body: {
          portalId: this.opts.portalId ?? 4242,
          uiDomain: this.opts.uiDomain ?? 'app.hubspot.com',
          timeZone: 'US/Eastern',
          companyCurrency: 'USD',
          additionalCurrencies: [],
          utcOffset: '-05:00',
          utcOffsetMilliseconds: -18_000_000,
          dataHostingLocation: 'na1',
        },
      };
    }
    if (method === 'GET' && (path === '/crm/v3/owners' || path === '/crm/v3/owners/')) {
      const email = req.query.get('email');
      const results = this.owners.filter((o) => !email || o.email.toLowerCase() === email.toLowerCase());
      return { status: 200, body: { results: results.map((o) => ({ ...o, archived: false, createdAt: new Date(0).toISOString(), updatedAt: new Date(0).toISOString() })) } };
    }
    const props = /^\/crm\/v3\/properties\/(calls|contacts|tasks)(?:\/([^/]+))?$/.exec(path);
    if (props) {
      const defs = this.propertyDefs[props[1] as ObjectType];
      const name = props[2];
      if (method === 'GET' && name) return defs.has(name) ? { status: 200, body: property(name, defs.get(name)!) } : notFound(`Unable to find property ${name}`);
      if (method === 'POST' && !name) {
        const wanted = String(req.body?.name ?? '');
        if (defs.has(wanted)) return { status: 409, body: { status: 'error', message: `A property named '${wanted}' already exists.`, correlationId: cid(), category: 'OBJECT_ALREADY_EXISTS' } };
        if (req.body?.hasUniqueValue === true && this.opts.uniqueRefusedOn?.includes(props[1] as ObjectType)) {
          return { status: 400, body: { status: 'error', message: `Unique value properties are not supported for ${props[1]}.`, correlationId: cid(), category: 'VALIDATION_ERROR' } };
        }
        defs.set(wanted, req.body?.hasUniqueValue === true);
        return { status: 201, body: property(wanted, req.body?.hasUniqueValue === true) };
      }
    }
    return notFound(`No route for ${method} ${path}`);
  }

  /**
   * GET / POST (every field required; 409 when the app has settings) / PATCH (the fields given) /
   * DELETE of an app's calling settings; 404 for an app of another account or without settings.
   */
  private callingSettingsRoute(method: string, appId: string, body: any): FakeResponse {
    if (!this.opts.developer?.appIds.includes(appId)) return notFound(`App ${appId} does not belong to this developer account`);
    const current = this.callingSettings.get(appId);
    const invalid = (fields: Record<string, unknown>, all: boolean) => {
      const wrong = Object.entries(CALLING_SETTINGS_FIELDS).filter(([k, type]) => (all || k in fields) && typeof fields[k] !== type);
      const unknown = Object.keys(fields).filter((k) => !(k in CALLING_SETTINGS_FIELDS));
      const names = [...wrong.map(([k, type]) => `${k} (${type})`), ...unknown.map((k) => `${k} (unknown)`)];
      return names.length ? { status: 400, body: { status: 'error', message: `Invalid input JSON: ${names.join(', ')}`, correlationId: cid(), category: 'VALIDATION_ERROR' } } : undefined;
    };
    const now = new Date().toISOString();
    if (method === 'GET') return current ? { status: 200, body: current } : notFound('No calling settings for this app');
    if (method === 'POST') {
      if (current) return { status: 409, body: { status: 'error', message: 'Calling settings already exist for this app', correlationId: cid(), category: 'CONFLICT' } };
      const refused = invalid(body ?? {}, true);
      if (refused) return refused;
      const created = { ...body, createdAt: now, updatedAt: now };
      this.callingSettings.set(appId, created);
      return { status: 200, body: created };
    }
    if (method === 'PATCH') {
      if (!current) return notFound('No calling settings for this app');
      const refused = invalid(body ?? {}, false);
      if (refused) return refused;
      Object.assign(current, body, { updatedAt: now });
      return { status: 200, body: current };
    }
    if (method === 'DELETE') {
      if (!current) return notFound('No calling settings for this app');
      this.callingSettings.delete(appId);
      return { status: 204 };
    }
    return notFound(`No route for ${method} calling settings`);
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
      return {
        status: 400,
        body: {
          status: 'error',
          message: 'There was a problem with the request: too many filters (max 5 filterGroups, 6 filters per group, 18 in total).',
          correlationId: cid(),
          category: 'VALIDATION_ERROR',
        },
      };
    }
    const matches = (o: HsObject) =>
      groups.length === 0 ||
      groups.some((g) =>
        g.filters.every((f) => {
          // associations.<type>: the object is associated with the record whose id is the value.
          const associated = /^associations\.(\w+)$/.exec(f.propertyName);
          if (associated) {
            const ids = (o.associations ?? []).map((a) => String(a.to.id));
            return f.operator === 'EQ' ? ids.includes(String(f.value)) : f.operator === 'IN' ? (f.values ?? []).some((x) => ids.includes(String(x))) : false;
          }
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
    const now = Date.now();
    let results = objects.filter((o) => (o.searchableAt ?? 0) <= now).filter(matches);
    // A sort is `{ propertyName, direction }`, or a string (the SDK's type): the property name, '-' before it for descending.
    const given = body?.sorts?.[0];
    const sort = typeof given === 'string' ? { propertyName: given.replace(/^-/, ''), direction: given.startsWith('-') ? 'DESCENDING' : 'ASCENDING' } : given;
    if (sort?.propertyName) {
      const dir = sort.direction === 'ASCENDING' ? 1 : -1;
      results = [...results].sort((a, b) => dir * String(a.properties[sort.propertyName] ?? '').localeCompare(String(b.properties[sort.propertyName] ?? '')));
    }
    const limit = Math.min(Number(body?.limit ?? 10), 200);
    const props: string[] | undefined = body?.properties;
    return { status: 200, body: { total: results.length, results: results.slice(0, limit).map((o) => view(o, props)) } };
  }

  private store(type: ObjectType): HsObject[] {
    return { calls: this.callObjects, contacts: this.contacts, tasks: this.taskObjects }[type];
  }

  /** The validation HubSpot runs on a new object; `pending` are objects created earlier in the same batch. */
  private refuse(type: ObjectType, body: any, pending: HsObject[] = [], self?: HsObject): FakeResponse | undefined {
    const properties = (body?.properties ?? {}) as Record<string, string>;
    const owner = properties.hubspot_owner_id;
    if (owner && this.owners.length > 0 && !this.owners.some((o) => o.id === owner)) {
      return {
        status: 400,
        body: {
          status: 'error',
          message: `Property values were not valid: [{"isValid":false,"message":"${owner} is not a valid owner id","error":"INVALID_OWNER_ID","name":"hubspot_owner_id"}]`,
          correlationId: cid(),
          category: 'VALIDATION_ERROR',
        },
      };
    }
    const readOnly = Object.keys(properties).find((name) => READ_ONLY.has(name));
    if (readOnly) {
      return {
        status: 400,
        body: {
          status: 'error',
          message: `Property values were not valid: [{"isValid":false,"message":"${readOnly} is a read only property; its value cannot be set.","error":"READ_ONLY_VALUE","name":"${readOnly}"}]`,
          correlationId: cid(),
          category: 'VALIDATION_ERROR',
        },
      };
    }
    if (type !== 'contacts' && !body?.patch && !properties.hs_timestamp) {
      return { status: 400, body: { status: 'error', message: 'Property values were not valid: hs_timestamp is required', correlationId: cid(), category: 'VALIDATION_ERROR' } };
    }
    for (const name of Object.keys(properties)) {
      if (['hs_', 'hubspot_'].some((p) => name.startsWith(p)) || BUILT_IN[type].has(name) || this.propertyDefs[type].has(name)) continue;
      return {
        status: 400,
        body: {
          status: 'error',
          message: `Property values were not valid: [{"isValid":false,"message":"Property \\"${name}\\" does not exist","error":"PROPERTY_DOESNT_EXIST","name":"${name}"}]`,
          correlationId: cid(),
          category: 'VALIDATION_ERROR',
        },
      };
    }
    for (const [name, unique] of this.propertyDefs[type]) {
      // As the request sent it: null and missing included.
      const value = properties[name] as string | null | undefined;
      if (!unique || value == null || value === '') continue;
      const holder = [...this.store(type), ...pending].find((o) => o !== self && o.properties[name] === value);
      if (holder) return uniqueConflict(this.opts.portalId ?? 4242, type, name, value, self?.id ?? String(this.seq + 1), holder.id);
    }
    for (const a of body?.associations ?? []) {
      if (!this.contacts.some((c) => c.id === String(a.to?.id))) {
        return { status: 400, body: { status: 'error', message: `Association to contact ${a.to?.id} is invalid: object not found`, correlationId: cid(), category: 'VALIDATION_ERROR' } };
      }
    }
    return undefined;
  }

  private build(type: ObjectType, body: any): HsObject {
    const properties = (body?.properties ?? {}) as Record<string, string>;
    const now = new Date().toISOString();
    const id = String(++this.seq);
    const extra: Record<string, string> =
      type === 'contacts' ? { ...calculated(properties), createdate: now, lastmodifieddate: now, hs_marketable_status: String(this.opts.marketingContactsFromApps === true) } : { hs_createdate: now };
    return {
      id,
      properties: { ...properties, ...extra, hs_object_id: id },
      createdAt: now,
      updatedAt: now,
      associations: body?.associations ?? [],
      searchableAt: Date.now() + (this.opts.searchLagMs ?? 0),
    };
  }

  private create(type: ObjectType, body: any): FakeResponse {
    const refused = this.refuse(type, body);
    if (refused) return refused;
    const o = this.build(type, body);
    this.store(type).push(o);
    return { status: 201, body: view(o) };
  }

  /** PATCH /crm/v3/objects/{type}/{id}: the properties given, validated like a create's; 404 when there is no such object. */
  private update(type: ObjectType, id: string, body: any): FakeResponse {
    const o = this.store(type).find((x) => x.id === id);
    if (!o) return notFound(`Object not found.  objectId are usually numeric.`);
    const refused = this.refuse(type, { properties: body?.properties, patch: true }, [], o);
    if (refused) return refused;
    Object.assign(o.properties, body?.properties ?? {}, type === 'contacts' ? calculated({ ...o.properties, ...body?.properties }) : {});
    o.updatedAt = new Date().toISOString();
    return { status: 200, body: view(o) };
  }

  /**
   * Associations v4 from a call or task to contacts: GET lists them ({toObjectId, associationTypes}),
   * PUT …/{toId} with [{associationCategory, associationTypeId}] adds one, DELETE …/{toId} removes every type between the pair (204).
   */
  private associationsV4(method: string, type: ObjectType, id: string, toType: string, toId: string | undefined, body: any): FakeResponse {
    const o = this.store(type).find((x) => x.id === id);
    if (!o) return notFound(`No ${type} with id ${id}`);
    if (toType !== 'contacts')
      return { status: 400, body: { status: 'error', message: `The fake HubSpot associates with contacts only, not ${toType}`, correlationId: cid(), category: 'VALIDATION_ERROR' } };
    o.associations ??= [];
    if (method === 'GET' && !toId) {
      const results = o.associations.map((a) => ({
        toObjectId: Number(a.to.id),
        associationTypes: a.types.map((t) => ({ category: t.associationCategory, typeId: t.associationTypeId, label: null })),
      }));
      return { status: 200, body: { results } };
    }
    if (method === 'PUT' && toId) {
      if (!this.contacts.some((c) => c.id === toId)) return { status: 400, body: { status: 'error', message: `No contact with id ${toId}`, correlationId: cid(), category: 'VALIDATION_ERROR' } };
      const types = (Array.isArray(body) ? body : []) as { associationCategory: string; associationTypeId: number }[];
      const existing = o.associations.find((a) => a.to.id === toId);
      if (existing) for (const t of types) if (!existing.types.some((e) => e.associationTypeId === t.associationTypeId)) existing.types.push(t);
      if (!existing) o.associations.push({ to: { id: toId }, types });
      const objectTypeId = { calls: '0-48', contacts: '0-1', tasks: '0-27' }[type];
      return { status: 201, body: { fromObjectTypeId: objectTypeId, fromObjectId: Number(id), toObjectTypeId: '0-1', toObjectId: Number(toId), labels: [] } };
    }
    if (method === 'DELETE' && toId) {
      o.associations = o.associations.filter((a) => a.to.id !== toId);
      return { status: 204 };
    }
    return notFound(`No route for ${method} associations`);
  }

  /** All or nothing: one refused input refuses the batch, with that input's error. */
  private batchCreate(type: ObjectType, body: any): FakeResponse {
    const inputs = body?.inputs ?? [];
    if (inputs.length > 100) return { status: 400, body: { status: 'error', message: 'Batch size must be at most 100', correlationId: cid(), category: 'VALIDATION_ERROR' } };
    const startedAt = new Date().toISOString();
    const created: HsObject[] = [];
    for (const input of inputs) {
      const refused = this.refuse(type, input, created);
      if (refused) return refused;
      created.push(this.build(type, input));
    }
    this.store(type).push(...created);
    return { status: 201, body: { status: 'COMPLETE', results: created.map((o) => view(o)), startedAt, completedAt: new Date().toISOString() } };
  }

  /** By HubSpot id, or by the value of a unique property (`idProperty`), as GET /crm/v3/objects/{type}/{id} reads. */
  private byId(type: ObjectType, id: string, idProperty?: string): HsObject | FakeResponse {
    if (idProperty && idProperty !== 'hs_object_id' && this.propertyDefs[type].get(idProperty) !== true) {
      return { status: 400, body: { status: 'error', message: `${idProperty} is not a unique identifier property`, correlationId: cid(), category: 'VALIDATION_ERROR' } };
    }
    const found = this.store(type).find((o) => (idProperty && idProperty !== 'hs_object_id' ? o.properties[idProperty] === id : o.id === id));
    return found ?? notFound('Object not found.');
  }

  /** Found objects in `results`; the others named in one OBJECT_NOT_FOUND error, answered 207. */
  private batchRead(type: ObjectType, body: any): FakeResponse {
    const inputs: { id: string }[] = body?.inputs ?? [];
    if (inputs.length > 100) return { status: 400, body: { status: 'error', message: 'Batch size must be at most 100', correlationId: cid(), category: 'VALIDATION_ERROR' } };
    const startedAt = new Date().toISOString();
    const results: HsObject[] = [];
    const missing: string[] = [];
    for (const input of inputs) {
      const found = this.byId(type, String(input.id), body?.idProperty);
      if ('status' in found) {
        if (found.status !== 404) return found;
        missing.push(String(input.id));
      } else results.push(found);
    }
    const done = { status: 'COMPLETE', results: results.map((o) => view(o, body?.properties)), startedAt, completedAt: new Date().toISOString() };
    if (missing.length === 0) return { status: 200, body: done };
    return {
      status: 207,
      body: {
        ...done,
        numErrors: 1,
        errors: [
          {
            status: 'error',
            category: 'OBJECT_NOT_FOUND',
            message: `Could not get some ${type === 'calls' ? 'CALL' : 'CONTACT'} objects, they may be deleted or not exist. Check that ids are valid.`,
            context: { ids: missing },
          },
        ],
      },
    };
  }
}

export async function startFakeHubSpot(opts: FakeHubSpotOptions = {}): Promise<FakeHubSpot> {
  return new FakeHubSpot(opts).start();
}
