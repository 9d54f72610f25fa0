import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CallUpdate } from '../../src/calls/call-update.publisher';
import type { RedisClient } from '../../src/redis/redis-connection';
import { signAgentToken } from '../../src/screen-pop/agent-token';
import { eventually, newCallId, sendEvent, startTestApp, subscribeUpdates, TestApp } from '../support/test-app';

const SECRET = 'agent-link-secret-for-card-writes-0123';

/**
 * The card's write endpoints over HTTP: only the agent link's token in an Authorization header,
 * only JSON, only the link's own extensions, only a valid body. Whatever is refused saves nothing:
 * no wrap-up reaches the call's cards.
 */
describe('Card writes: POST /agent/calls/wrap-up and /agent/calls/contact', () => {
  let t: TestApp;
  let dir: string;
  let sub: RedisClient;
  const updates: CallUpdate[] = [];
  const callId = newCallId();
  const EXT = '0003*610';
  const OTHER = '0003*611';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vncc-card-writes-'));
    writeFileSync(join(dir, 'contacts.csv'), readFileSync(resolve(__dirname, '../../config/contacts.csv')));
    writeFileSync(
      join(dir, 'connector.yaml'),
      `calls: { hangupSettleMs: 50 }
connections:
  demo: { type: file, contactsCsv: contacts.csv, callLogFile: calls.jsonl, country: US }
mappings:
  defaults: { connection: demo, country: US }
`,
    );
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), AGENT_LINK_SECRET: SECRET });
    sub = await subscribeUpdates(t.prefix, updates);
    await sendEvent(t.url, 'dial-in', { CallID: callId, CallerIDNum: '0015551234567', CallerIDNam: 'J ROE', CalledExtension: EXT, CallFlow: 'IN', CallStatus: 'CALLING' });
    await eventually(() => updates.find((u) => u.record.callId === callId && u.lookup?.status === 'done'), 10_000, 'the pop');
  }, 60_000);
  afterAll(async () => {
    sub?.disconnect();
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const link = (...ext: string[]) => signAgentToken(SECRET, ext).token;
  const json = { 'content-type': 'application/json' };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  async function post(path: string, init: { headers?: Record<string, string>; body?: string; query?: string }) {
    const res = await fetch(`${t.url}/agent/calls/${path}${init.query ?? ''}`, { method: 'POST', headers: init.headers, body: init.body });
    const text = await res.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep text
    }
    return { status: res.status, body, cacheControl: res.headers.get('cache-control') };
  }
  const wrapUpOf = () => updates.filter((u) => u.record.callId === callId && u.wrapUp);

  it.each([
    ['no credentials at all', { headers: json }],
    ['the token in the query string only (as the page URL has it)', { headers: json, query: `?token=${encodeURIComponent(signAgentToken(SECRET, [EXT]).token)}` }],
    ['Basic auth', { headers: { ...json, authorization: `Basic ${Buffer.from(`x:${signAgentToken(SECRET, [EXT]).token}`).toString('base64')}` } }],
    ['a cookie', { headers: { ...json, cookie: `token=${signAgentToken(SECRET, [EXT]).token}` } }],
  ])('refuses a wrap-up with %s: 401, and says how writes are authorised', async (_what, init) => {
    const res = await post('wrap-up', { ...init, body: JSON.stringify({ callId, extension: EXT, notes: 'should not land' }) });
    expect(res.status).toBe(401);
    expect(res.body.message).toMatch(/Authorization: Bearer/);
    expect(res.cacheControl).toBe('no-store');
  });

  it('refuses a forged link (401) and an expired one (403), each saying why', async () => {
    const forged = signAgentToken('not-our-secret', [EXT]).token;
    const expired = signAgentToken(SECRET, [EXT], { ttlHours: 1, now: Date.now() - 3 * 3600_000 }).token;
    const a = await post('wrap-up', { headers: { ...json, ...bearer(forged) }, body: JSON.stringify({ callId, extension: EXT, notes: 'x' }) });
    expect([a.status, a.body.message]).toEqual([401, expect.stringContaining('signature does not match')]);
    const b = await post('contact', { headers: { ...json, ...bearer(expired) }, body: JSON.stringify({ callId, extension: EXT }) });
    expect([b.status, b.body.message]).toEqual([403, expect.stringContaining('expired at')]);
  });

  it("a link for another extension cannot write to this call: 403 naming the link's extensions", async () => {
    for (const [path, extra] of [
      ['wrap-up', { notes: 'not mine' }],
      ['contact', { name: 'Not Mine' }],
    ] as const) {
      const res = await post(path, { headers: { ...json, ...bearer(link(OTHER)) }, body: JSON.stringify({ callId, extension: EXT, ...extra }) });
      expect(res.status).toBe(403);
      expect(res.body.message).toBe(`This link is for ${OTHER}, not for ${EXT}: a card can only write to its own extensions' calls.`);
      expect(res.cacheControl).toBe('no-store');
    }
  });

  it('refuses a form or text body (what a cross-site form can send): 415', async () => {
    const form = await post('wrap-up', {
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...bearer(link(EXT)) },
      body: new URLSearchParams({ callId, extension: EXT, notes: 'form' }).toString(),
    });
    expect(form.status).toBe(415);
    const text = await post('contact', { headers: { 'content-type': 'text/plain', ...bearer(link(EXT)) }, body: JSON.stringify({ callId, extension: EXT }) });
    expect(text.status).toBe(415);
  });

  it('refuses a bad body with 400 and a message naming the field', async () => {
    const auth = { ...json, ...bearer(link(EXT)) };
    const cases: [string, unknown, RegExp][] = [
      ['wrap-up', { callId, extension: EXT, notes: 'x'.repeat(4001) }, /^notes: notes are at most 4000 characters$/],
      ['wrap-up', { callId, extension: EXT, done: 'yes' }, /^done: /],
      ['wrap-up', { callId, extension: EXT, owner: 'someone' }, /owner/],
      ['wrap-up', { extension: EXT, notes: 'no call' }, /^callId: /],
      ['wrap-up', { callId: 'has space', extension: EXT }, /^callId: a CallID is 1-128 printable characters/],
      ['contact', { callId, extension: '+15551234567' }, /^extension: an extension is/],
      ['contact', { callId, extension: EXT, name: 'n'.repeat(257) }, /^name: a name is at most 256 characters$/],
    ];
    for (const [path, body, message] of cases) {
      const res = await post(path, { headers: auth, body: JSON.stringify(body) });
      expect([path, res.status, res.body.message]).toEqual([path, 400, expect.stringMatching(message)]);
    }
    const broken = await post('wrap-up', { headers: auth, body: '{"callId":' });
    expect(broken.status).toBe(400);
  });

  it("the wrap-up service's refusals keep their status and message: an unknown call is 404, a disposition the connection does not offer 400", async () => {
    const auth = { ...json, ...bearer(link(EXT)) };
    const missing = await post('wrap-up', { headers: auth, body: JSON.stringify({ callId: `${callId}-nope`, extension: EXT, notes: 'x' }) });
    expect([missing.status, missing.body.message]).toEqual([404, 'No such call on this extension (it may have expired).']);
    const disposition = await post('wrap-up', { headers: auth, body: JSON.stringify({ callId, extension: EXT, disposition: 'made-up' }) });
    expect([disposition.status, disposition.body.message]).toEqual([400, expect.stringContaining('"made-up" is not one of')]);
    expect(disposition.cacheControl).toBe('no-store');
  });

  it("a well-formed write from the right link is saved and reaches the call's cards; nothing refused did, and no refusal logged a token", async () => {
    const ok = await post('wrap-up', { headers: { ...json, ...bearer(link(OTHER, EXT)) }, body: JSON.stringify({ callId, extension: EXT, notes: 'from the right link' }) });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ notes: 'from the right link', by: EXT, state: 'saved' });
    expect(ok.cacheControl).toBe('no-store');
    await eventually(() => wrapUpOf().find((u) => u.wrapUp?.notes === 'from the right link'), 10_000, 'the saved wrap-up on the card');
    // Every refused write above came before this one; none of them reached a card.
    expect(wrapUpOf().map((u) => u.wrapUp?.notes)).toEqual(['from the right link']);
    const logged = JSON.stringify(t.logs);
    expect(logged).not.toContain(link(EXT).split('.')[1]);
  });
});
