import { createPublicKey, KeyObject, randomBytes, verify } from 'node:crypto';
import { digitsOf, FakeRequest, FakeResponse, FakeServer } from './fake-server';

/**
 * A fake Salesforce org, following the documented REST API and OAuth shapes: the token endpoint
 * (refresh_token with optional rotation, JWT bearer with a verified RS256 signature,
 * client_credentials), SOSL search IN PHONE FIELDS (digits compared, reserved characters must be
 * escaped; a FIND {…} over 4,000 characters loses its OR operators, so finds nothing here), a SOQL
 * subset (SELECT … FROM … WHERE a = 'x' AND b = true LIMIT n, with child relationship subqueries such as
 * (SELECT Id, Name FROM Opportunities WHERE IsClosed = false ORDER BY LastModifiedDate DESC)), Task and Lead create with
 * Salesforce's validation errors, Task update (PATCH, null clears a field), and /limits. REST errors are [{message, errorCode, fields}];
 * OAuth errors are {error, error_description}.
 */
export type SfObject = { Id: string; type: string; [field: string]: unknown };

export interface FakeSalesforceOptions {
  clientId?: string;
  clientSecret?: string;
  refreshTokens?: string[];
  /** Issue a new refresh token on every refresh and revoke the old one (connected app setting). */
  rotateRefreshTokens?: boolean;
  /** Public key of the connected app's certificate, for the JWT bearer flow. */
  jwtPublicKey?: string | KeyObject;
  jwtUsers?: string[];
  /** Custom Task fields the org has (e.g. VoipNow_Call_Key__c). */
  customTaskFields?: string[];
  dailyApiRequests?: number;
}

const PREFIX: Record<string, string> = { Account: '001', Contact: '003', Lead: '00Q', Task: '00T', User: '005', Opportunity: '006', Case: '500' };
/** Child relationships a SOQL subquery may name: parent type → relationship → [child type, the child's lookup to the parent]. */
const CHILDREN: Partial<Record<string, Partial<Record<string, [string, string]>>>> = {
  Account: { Opportunities: ['Opportunity', 'AccountId'], Cases: ['Case', 'AccountId'], Contacts: ['Contact', 'AccountId'] },
  Contact: { Cases: ['Case', 'ContactId'], Opportunities: ['Opportunity', 'ContactId'] },
};
const TASK_FIELDS = [
  'Subject',
  'TaskSubtype',
  'CallType',
  'CallDurationInSeconds',
  'CallDisposition',
  'CallObject',
  'Status',
  'ActivityDate',
  'Description',
  'WhoId',
  'WhatId',
  'OwnerId',
  'Priority',
  'Type',
];
const PICKLISTS: Record<string, string[]> = {
  TaskSubtype: ['Task', 'Email', 'ListEmail', 'Cadence', 'Call', 'LinkedIn'],
  CallType: ['Internal', 'Inbound', 'Outbound'],
  Status: ['Not Started', 'In Progress', 'Completed', 'Waiting on someone else', 'Deferred'],
};
const LEAD_FIELDS = ['FirstName', 'LastName', 'Company', 'Phone', 'MobilePhone', 'Email', 'Title', 'Description', 'LeadSource', 'OwnerId', 'Status'];
const PHONE_FIELDS: Partial<Record<string, string[]>> = { Contact: ['Phone', 'MobilePhone', 'HomePhone', 'OtherPhone'], Lead: ['Phone', 'MobilePhone'], Account: ['Phone', 'Fax'] };
const SOSL_RESERVED = /[?&|!{}[\]()^~*:\\"'+-]/;

export class FakeSalesforce extends FakeServer {
  readonly objects: SfObject[] = [];
  readonly versions: string[] = [];
  refreshTokens: Set<string>;
  private sessions = new Set<string>();
  private seq = 0;
  private apiRequests = 0;

  constructor(readonly opts: FakeSalesforceOptions = {}) {
    super(
      (req) => this.route(req),
      (req) => this.gateCheck(req),
    );
    this.refreshTokens = new Set(opts.refreshTokens ?? ['5Aep861-refresh-1']);
  }

  add(type: string, fields: Record<string, unknown>): string {
    const Id = `${PREFIX[type] ?? '001'}5g00000${String(++this.seq).padStart(5, '0')}AAA`;
    this.objects.push({ LastModifiedDate: new Date(Date.now() - 86_400_000 * 30).toISOString().replace('Z', '+0000'), ...fields, Id, type });
    return Id;
  }

  tasks(): SfObject[] {
    return this.objects.filter((o) => o.type === 'Task');
  }

  /** Every access token issued so far stops working (session timeout, or an admin revoked them). */
  expireSessions() {
    this.sessions.clear();
  }

  private gateCheck(req: FakeRequest): FakeResponse | undefined {
    if (!req.path.startsWith('/services/data/')) return undefined;
    const auth = String(req.headers.authorization ?? '');
    if (!this.sessions.has(auth.replace(/^Bearer /, ''))) return { status: 401, body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }] };
    this.apiRequests += 1;
    return undefined;
  }

  private route(req: FakeRequest): FakeResponse {
    if (req.method === 'POST' && req.path === '/services/oauth2/token') return this.token(req.body ?? {});
    const m = /^\/services\/data\/v(\d+\.\d)(\/.*)$/.exec(req.path);
    if (!m) return { status: 404, body: [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }] };
    this.versions.push(m[1]);
    const [, , rest] = m;
    if (req.method === 'GET' && rest === '/search') return this.search(req.query.get('q') ?? '');
    if (req.method === 'GET' && rest === '/query') return this.query(req.query.get('q') ?? '');
    if (req.method === 'POST' && rest === '/sobjects/Task') {
      const refused = this.refuseTask(req.body ?? {});
      return refused ? { status: 400, body: refused } : { status: 201, body: { id: this.storeTask(req.body), success: true, errors: [] } };
    }
    if (req.method === 'POST' && rest === '/sobjects/Lead') return this.createLead(req.body ?? {});
    const taskId = /^\/sobjects\/Task\/(\w+)$/.exec(rest)?.[1];
    if (req.method === 'PATCH' && taskId) return this.updateTask(taskId, req.body ?? {});
    if (req.method === 'POST' && rest === '/composite/sobjects') return this.createCollection(req.body ?? {});
    if (req.method === 'GET' && rest === '/limits') {
      const max = this.opts.dailyApiRequests ?? 15_000;
      return { status: 200, body: { DailyApiRequests: { Max: max, Remaining: Math.max(0, max - this.apiRequests) }, DailyBulkApiBatches: { Max: 15_000, Remaining: 15_000 } } };
    }
    return { status: 404, body: [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }] };
  }

  private token(b: Record<string, string>): FakeResponse {
    const o = this.opts;
    const fail = (error: string, error_description: string, status = 400): FakeResponse => ({ status, body: { error, error_description } });
    if (b.grant_type === 'refresh_token') {
      if (b.client_id !== (o.clientId ?? 'client-1')) return fail('invalid_client_id', 'client identifier invalid');
      if (b.client_secret !== (o.clientSecret ?? 'secret-1')) return fail('invalid_client', 'invalid client credentials');
      if (!this.refreshTokens.has(b.refresh_token)) return fail('invalid_grant', 'expired access/refresh token');
      if (!o.rotateRefreshTokens) return this.issue();
      this.refreshTokens.delete(b.refresh_token);
      const next = `5Aep861-refresh-${randomBytes(6).toString('hex')}`;
      this.refreshTokens.add(next);
      return this.issue({ refresh_token: next });
    }
    if (b.grant_type === 'client_credentials') {
      if (b.client_id !== (o.clientId ?? 'client-1') || b.client_secret !== (o.clientSecret ?? 'secret-1')) return fail('invalid_client', 'invalid client credentials');
      return this.issue();
    }
    if (b.grant_type === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      // A form field the request may leave out.
      const [header, claims, signature] = ((b.assertion as string | undefined) ?? '').split('.');
      if (!o.jwtPublicKey || !header || !claims || !signature) return fail('invalid_grant', 'invalid assertion');
      const key = typeof o.jwtPublicKey === 'string' ? createPublicKey(o.jwtPublicKey) : o.jwtPublicKey;
      const alg = safeJson(Buffer.from(header, 'base64url').toString())?.alg;
      if (alg !== 'RS256' || !verify('sha256', Buffer.from(`${header}.${claims}`), key, Buffer.from(signature, 'base64url'))) return fail('invalid_grant', 'invalid assertion');
      const c = safeJson(Buffer.from(claims, 'base64url').toString()) ?? {};
      if (c.iss !== (o.clientId ?? 'client-1')) return fail('invalid_client_id', 'client identifier invalid');
      if (!['https://login.salesforce.com', 'https://test.salesforce.com'].includes(c.aud)) return fail('invalid_grant', 'audience is invalid');
      const now = Date.now() / 1000;
      if (typeof c.exp !== 'number' || c.exp < now || c.exp > now + 300) return fail('invalid_grant', 'expired authorization code');
      if (!(o.jwtUsers ?? []).includes(c.sub)) return fail('invalid_grant', "user hasn't approved this consumer");
      return this.issue();
    }
    return fail('unsupported_grant_type', 'grant type not supported');
  }

  private issue(extra: Record<string, string> = {}): FakeResponse {
    const accessToken = `00D5g000000ORG1!AQ${randomBytes(16).toString('hex')}`;
    this.sessions.add(accessToken);
    const issuedAt = String(Date.now());
    return {
      status: 200,
      body: {
        access_token: accessToken,
        signature: randomBytes(16).toString('base64'),
        scope: 'api refresh_token',
        instance_url: this.url,
        id: `${this.url}/id/00D5g000000ORG1AAA/0055g00000USER1AAA`,
        token_type: 'Bearer',
        issued_at: issuedAt,
        ...extra,
      },
    };
  }

  private search(sosl: string): FakeResponse {
    const malformed = (message: string): FakeResponse => ({ status: 400, body: [{ message, errorCode: 'MALFORMED_SEARCH' }] });
    const m = /^FIND \{(.*)\} IN PHONE FIELDS RETURNING (.*)$/s.exec(sosl);
    if (!m) return malformed(`unexpected token in search: ${sosl.slice(0, 60)}`);
    // Past 4,000 characters Salesforce removes the logical operators: the terms become one phrase no phone field holds.
    if (m[1].length > 4000) return { status: 200, body: { searchRecords: [] } };
    const terms = m[1].split(/ OR /i).map((t) => t.trim());
    for (const t of terms) if (SOSL_RESERVED.test(t.replace(/\\./g, ''))) return malformed(`line 1:6 mismatched character '${t}': reserved characters must be escaped`);
    const wanted = new Set(terms.map((t) => digitsOf(t.replace(/\\(.)/g, '$1'))).filter(Boolean));
    const searchRecords: Record<string, unknown>[] = [];
    for (const spec of m[2].matchAll(/(\w+)\(([^)]*)\)/g)) {
      const [, type, inner] = spec;
      const parsed = /^(.*?)(?: WHERE (\w+) = (true|false))?(?: LIMIT (\d+))?$/.exec(inner.trim());
      const phoneFields = PHONE_FIELDS[type];
      if (!parsed || !phoneFields) return malformed(`sObject type '${type}' is not supported.`);
      const [, fieldList, whereField, whereValue, limit] = parsed as unknown as [string, string, string?, string?, string?];
      const fields = fieldList.split(',').map((f) => f.trim());
      const hits = this.objects
        .filter((o) => o.type === type && phoneFields.some((f) => wanted.has(digitsOf(o[f]))))
        .filter((o) => !whereField || String(o[whereField] ?? false) === whereValue)
        .slice(0, Number(limit ?? 2000));
      searchRecords.push(...hits.map((o) => this.project(o, fields)));
    }
    return { status: 200, body: { searchRecords } };
  }

  private query(text: string): FakeResponse {
    // Child relationship subqueries in the field list, (SELECT Id, Name FROM Opportunities WHERE IsClosed = false
    // ORDER BY LastModifiedDate DESC): each answered per parent record as {totalSize, done, records}, or null when empty.
    const children: { rel: string; fields: string[]; whereField?: string; whereValue?: string; orderBy?: string; desc: boolean }[] = [];
    const soql = text.replace(
      /\(SELECT ([^()]+?) FROM (\w+)(?: WHERE (\w+) = (true|false))?(?: ORDER BY (\w+)(?: (ASC|DESC))?)?\)/g,
      (_m, fields: string, rel: string, whereField?: string, whereValue?: string, orderBy?: string, dir?: string) => {
        children.push({ rel, fields: fields.split(',').map((f) => f.trim()), whereField, whereValue, orderBy, desc: dir === 'DESC' });
        return `__child${children.length - 1}`;
      },
    );
    const m = /^SELECT (.+?) FROM (\w+)(?: WHERE (.+?))?(?: LIMIT (\d+))?$/s.exec(soql.trim());
    if (!m) return { status: 400, body: [{ message: `unexpected token: ${soql.slice(0, 60)}`, errorCode: 'MALFORMED_QUERY' }] };
    const [, fieldList, type, where, limit] = m as unknown as [string, string, string, string?, string?];
    const conditions: [string, string | boolean | string[]][] = [];
    if (where) {
      // field = 'string literal with \' escapes' | true | false, or field IN ('a', 'b'), joined by AND
      const literal = `'(?:[^'\\\\]|\\\\.)*'`;
      const re = new RegExp(`(\\w+) (?:= (${literal}|true|false)|IN \\((${literal}(?:, ${literal})*)\\))(?: AND |$)`, 'y');
      const escaped: Partial<Record<string, string>> = { n: '\n', r: '\r', t: '\t' };
      const unquote = (l: string) => l.slice(1, -1).replace(/\\(.)/g, (_x, ch: string) => escaped[ch] ?? ch);
      let c: RegExpExecArray | null;
      let consumed = 0;
      while ((c = re.exec(where))) {
        const list = c[3] as string | undefined;
        if (list !== undefined) conditions.push([c[1], (list.match(new RegExp(literal, 'g')) ?? []).map(unquote)]);
        else conditions.push([c[1], c[2].startsWith("'") ? unquote(c[2]) : c[2] === 'true']);
        consumed = re.lastIndex;
      }
      if (consumed !== where.length) return { status: 400, body: [{ message: `unexpected token: '${where.slice(consumed, consumed + 20)}'`, errorCode: 'MALFORMED_QUERY' }] };
    }
    const fields = fieldList.split(',').map((f) => f.trim());
    for (const f of fields) {
      const child = /^__child(\d+)$/.exec(f);
      if (child && !CHILDREN[type]?.[children[Number(child[1])].rel]) {
        return { status: 400, body: [{ message: `Didn't understand relationship '${children[Number(child[1])].rel}' in FROM part of query call.`, errorCode: 'INVALID_TYPE' }] };
      }
    }
    const records = this.objects
      // Text comparisons in SOQL are case-insensitive; an unset boolean is false, except IsActive.
      .filter(
        (o) =>
          o.type === type && conditions.every(([f, v]) => (typeof v === 'boolean' ? (o[f] ?? f === 'IsActive') === v : [v].flat().some((x) => String(o[f] ?? '').toLowerCase() === x.toLowerCase()))),
      )
      .slice(0, Number(limit ?? 2000))
      .map((o) => {
        const out = this.project(
          o,
          fields.filter((f) => !f.startsWith('__child')),
        );
        for (const f of fields.filter((x) => x.startsWith('__child'))) {
          const c = children[Number(f.slice('__child'.length))];
          const relation = CHILDREN[type]?.[c.rel];
          if (!relation) continue; // refused above
          const [childType, lookup] = relation;
          const rows = this.objects
            .filter((x) => x.type === childType && x[lookup] === o.Id && (!c.whereField || String(x[c.whereField] ?? false) === c.whereValue))
            .sort((a, b) => (c.orderBy ? (c.desc ? -1 : 1) * String(a[c.orderBy] ?? '').localeCompare(String(b[c.orderBy] ?? '')) : 0));
          out[c.rel] = rows.length ? { totalSize: rows.length, done: true, records: rows.map((x) => this.project(x, c.fields)) } : null;
        }
        return out;
      });
    return { status: 200, body: { totalSize: records.length, done: true, records } };
  }

  /** Salesforce's validation of a new Task: its REST errors, or undefined when the Task is fine. */
  private refuseTask(body: Record<string, unknown>): { message: string; errorCode: string; fields: string[] }[] | undefined {
    const invalid = (message: string, errorCode: string, fields: string[]) => [{ message, errorCode, fields }];
    const known = ['attributes', ...TASK_FIELDS, ...(this.opts.customTaskFields ?? [])];
    for (const f of Object.keys(body)) if (!known.includes(f)) return invalid(`No such column '${f}' on sobject of type Task`, 'INVALID_FIELD', []);
    for (const [f, values] of Object.entries(PICKLISTS)) {
      if (body[f] !== undefined && !values.includes(String(body[f]))) return invalid(`${f}: bad value for restricted picklist field: ${body[f]}`, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', [f]);
    }
    for (const f of ['Subject', 'CallObject', 'CallDisposition']) if (String(body[f] ?? '').length > 255) return invalid(`${f}: data value too large`, 'STRING_TOO_LONG', [f]);
    if (body.ActivityDate !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(String(body.ActivityDate)))
      return invalid('Due Date Only: value not of required type', 'INVALID_TYPE_ON_FIELD_IN_RECORD', ['ActivityDate']);
    // null clears a lookup field (on update); any other value must name a record of the right type.
    const ref = (f: string, types: string[]) => body[f] != null && !this.objects.some((o) => o.Id === body[f] && types.includes(o.type));
    if (ref('OwnerId', ['User'])) return invalid('Assigned To ID: owner cannot be blank', 'INVALID_CROSS_REFERENCE_KEY', ['OwnerId']);
    if (ref('WhoId', ['Contact', 'Lead'])) return invalid('Name ID: id value of incorrect type', 'FIELD_INTEGRITY_EXCEPTION', ['WhoId']);
    if (ref('WhatId', ['Account'])) return invalid('Related To ID: id value of incorrect type', 'FIELD_INTEGRITY_EXCEPTION', ['WhatId']);
    return undefined;
  }

  /**
   * PATCH /sobjects/Task/{id}: the fields given (null clears one), validated like a new Task;
   * 204 No Content, or 404 NOT_FOUND / ENTITY_IS_DELETED.
   */
  private updateTask(id: string, body: Record<string, unknown>): FakeResponse {
    const task = this.objects.find((o) => o.Id === id && o.type === 'Task');
    if (!task) return { status: 404, body: [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }] };
    if (task.IsDeleted) return { status: 404, body: [{ message: 'entity is deleted', errorCode: 'ENTITY_IS_DELETED', fields: [] }] };
    const refused = this.refuseTask(body);
    if (refused) return { status: 400, body: refused };
    const { attributes: _attributes, Id: _id, ...fields } = body;
    for (const [f, v] of Object.entries(fields)) {
      // A null clears the field, as Salesforce does: the fake's record is a plain map of fields.
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- see above
      if (v === null) delete task[f];
      else task[f] = v;
    }
    task.LastModifiedDate = new Date().toISOString().replace('Z', '+0000');
    return { status: 204 };
  }

  private storeTask(body: Record<string, unknown>): string {
    const { attributes: _attributes, ...fields } = body;
    return this.add('Task', { ...fields, CreatedDate: new Date().toISOString() });
  }

  /** A Lead as the REST API creates one: LastName and Company required, OwnerId a User, Name derived. */
  private createLead(body: Record<string, unknown>): FakeResponse {
    const invalid = (message: string, errorCode: string, fields: string[]): FakeResponse => ({ status: 400, body: [{ message, errorCode, fields }] });
    for (const f of Object.keys(body)) if (!['attributes', ...LEAD_FIELDS].includes(f)) return invalid(`No such column '${f}' on sobject of type Lead`, 'INVALID_FIELD', []);
    const missing = ['LastName', 'Company'].filter((f) => !String(body[f] ?? '').trim());
    if (missing.length) return invalid(`Required fields are missing: [${missing.join(', ')}]`, 'REQUIRED_FIELD_MISSING', missing);
    if (body.OwnerId !== undefined && !this.objects.some((o) => o.Id === body.OwnerId && o.type === 'User'))
      return invalid('Owner ID: id value of incorrect type', 'INVALID_CROSS_REFERENCE_KEY', ['OwnerId']);
    const { attributes: _attributes, ...fields } = body;
    const id = this.add('Lead', { ...fields, Name: [body.FirstName, body.LastName].filter(Boolean).join(' '), IsConverted: false, CreatedDate: new Date().toISOString() });
    return { status: 201, body: { id, success: true, errors: [] } };
  }

  /** sObject Collections create: up to 200 records, one result each; allOrNone rolls back on any error. */
  private createCollection(body: { allOrNone?: boolean; records?: Record<string, unknown>[] }): FakeResponse {
    const records = body.records ?? [];
    if (records.length > 200) return { status: 400, body: [{ message: 'Number of records in the collection exceeds 200', errorCode: 'EXCEEDED_ID_LIMIT' }] };
    if (records.some((r) => (r.attributes as { type?: string } | undefined)?.type !== 'Task'))
      return { status: 400, body: [{ message: 'Only Task records are supported here', errorCode: 'INVALID_TYPE' }] };
    const refusals = records.map((r) => this.refuseTask(r));
    const toResult = (errors: { message: string; errorCode: string; fields: string[] }[]) => ({
      success: false,
      errors: errors.map((e) => ({ statusCode: e.errorCode, message: e.message, fields: e.fields })),
    });
    if (body.allOrNone && refusals.some(Boolean)) {
      return {
        status: 200,
        body: refusals.map((r) =>
          toResult(r ?? [{ message: 'The transaction was rolled back since another operation in the same transaction failed.', errorCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK', fields: [] }]),
        ),
      };
    }
    return { status: 200, body: records.map((r, n) => (refusals[n] ? toResult(refusals[n]) : { id: this.storeTask(r), success: true, errors: [] })) };
  }

  /** The requested fields only, relationship fields (Account.Name) nested, as the API returns them. */
  private project(o: SfObject, fields: string[]): Record<string, unknown> {
    const out: Record<string, unknown> = { attributes: { type: o.type, url: `/services/data/v62.0/sobjects/${o.type}/${o.Id}` } };
    for (const f of fields) {
      const [rel, sub] = f.split('.');
      if (!sub) {
        out[rel] = o[rel] ?? null;
        continue;
      }
      const target = this.objects.find((x) => x.Id === o[`${rel}Id`]);
      out[rel] = target
        ? { ...(out[rel] ?? { attributes: { type: target.type === 'User' ? 'Name' : target.type, url: `/services/data/v62.0/sobjects/${target.type}/${target.Id}` } }), [sub]: target[sub] ?? null }
        : null;
    }
    return out;
  }
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export async function startFakeSalesforce(opts: FakeSalesforceOptions = {}): Promise<FakeSalesforce> {
  return new FakeSalesforce(opts).start();
}
