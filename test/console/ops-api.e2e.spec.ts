import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventQueueService } from '../../src/queue/event-queue.service';
import { logCallJobId } from '../../src/queue/queues';
import { eventually, newCallId, sendEvent, startTestApp, TEST_ADMIN_TOKEN, TestApp } from '../support/test-app';

const CONFIG = `# managed in git
calls: { hangupSettleMs: 20, wrapUpWindowSeconds: 0 }
workers: { callLogAttempts: 2, callLogBackoffMs: 100 }
connections:
  demo: { type: file, contactsCsv: contacts.csv, callLogFile: calls.jsonl, country: US }
  broken: { type: file, contactsCsv: contacts.csv, callLogFile: a-directory, country: US }
mappings:
  organisations:
    "0003*": { connection: demo }
    "0004*": { connection: broken }
`;

/**
 * The admin routes the console is built on, used without it: refusals with their reasons,
 * mapping edits switched off, version conflicts, full numbers when allowed, and link revocation
 * reaching a second instance.
 */
describe("Ops API (the console's routes, without the console)", () => {
  let t: TestApp;
  let second: TestApp;
  let dir: string;
  let file: string;
  const call = (app: TestApp, method: string, path: string, body?: unknown, token: string | null = TEST_ADMIN_TOKEN) =>
    fetch(`${app.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vncc-ops-api-'));
    file = join(dir, 'connector.yaml');
    writeFileSync(join(dir, 'contacts.csv'), 'id,name,company,phone\nc-001,Jane Roe,Acme Corp,(555) 123-4567\n');
    writeFileSync(file, CONFIG);
    mkdirSync(join(dir, 'a-directory'));
    t = await startTestApp({ CONFIG_FILE: file, ADMIN_CONFIG_EDITING: 'off', ADMIN_FULL_NUMBERS: 'true' });
    // A second instance on the same Redis, serving agent pages only.
    second = await startTestApp({ CONFIG_FILE: file, REDIS_PREFIX: t.prefix, ROLE: 'api' });
  }, 60_000);
  afterAll(async () => {
    if (second) {
      await second.app.close();
      second.redis.disconnect();
    }
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('every route needs the admin token; the console page itself holds no data and is served with anti-framing headers', async () => {
    for (const [method, path] of [
      ['GET', '/admin/overview'],
      ['GET', '/admin/unlogged'],
      ['GET', '/admin/mappings'],
      ['GET', '/admin/agent-links'],
      ['GET', '/admin/calls/search'],
      ['POST', '/admin/unlogged/replay'],
    ] as const) {
      expect((await call(t, method, path, undefined, null)).status).toBe(401);
      expect((await call(t, method, path, undefined, 'wrong-token-0123456789')).status).toBe(401);
    }
    const page = await fetch(`${t.url}/admin/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).not.toContain(TEST_ADMIN_TOKEN);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/); // no inline script: the CSP would refuse it
    expect((await fetch(`${t.url}/admin/console/assets/console.js`)).headers.get('content-type')).toContain('javascript');
    expect((await fetch(`${t.url}/admin/console/assets/other.js`)).status).toBe(404);
  });

  it('with ADMIN_CONFIG_EDITING=off, mappings are shown as not editable and an edit is refused (403) without touching the file', async () => {
    const { body } = await json(await call(t, 'GET', '/admin/mappings'));
    expect(body).toMatchObject({ editable: false, connections: ['demo', 'broken'], mappings: { organisations: { '0003*': { connection: 'demo' } } } });
    expect(body.whyNotEditable).toContain('ADMIN_CONFIG_EDITING=off');
    const res = await json(await call(t, 'PUT', '/admin/mappings/rule', { level: 'extensions', key: '0003*210', rule: { connection: 'demo' }, version: body.version }));
    expect(res.status).toBe(403);
    expect(res.body.message).toContain('switched off');
    expect(readFileSync(file, 'utf8')).toBe(CONFIG);
  });

  it('refuses malformed requests with 400 and says what is wrong', async () => {
    const cases: [string, string, unknown, RegExp][] = [
      ['PUT', '/admin/mappings/rule', { level: 'extensions', key: '210x', rule: {}, version: 'v' }, /key: an extension key/],
      ['PUT', '/admin/mappings/rule', { level: 'teams', rule: {}, version: 'v' }, /level/],
      ['PUT', '/admin/mappings/rule', { level: 'defaults', rule: {} }, /version/],
      ['POST', '/admin/unlogged/replay', { ids: [] }, /at least one job id/],
      ['POST', '/admin/unlogged/discard', { ids: ['log-1-2'] }, /reason/],
      ['POST', '/admin/unlogged/discard', { ids: ['log-1-2'], reason: 'x' }, /say why/],
    ];
    for (const [method, path, body, message] of cases) {
      const res = await json(await call(t, method, path, body));
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(message);
    }
    expect((await json(await call(t, 'GET', '/admin/calls/search?number=ab'))).status).toBe(400);
    expect((await json(await call(t, 'GET', '/admin/calls/search?extension=0003*2x'))).status).toBe(400);
    expect((await json(await call(t, 'GET', '/admin/unlogged/log-nothing'))).status).toBe(404);
    expect(await (await call(t, 'POST', '/admin/unlogged/replay', { ids: ['log-nothing'] })).json()).toEqual({
      replayed: [],
      refused: [{ jobId: 'log-nothing', why: expect.stringContaining('gone') }],
    });
  });

  it('with ADMIN_FULL_NUMBERS=true the numbers are shown in full; unmapped and failed calls are in the inbox by reason, counted in the overview; a replay of a logged call is refused', async () => {
    const logged = newCallId();
    const params = { CallID: logged, CallerIDNum: '0015551234567', CalledExtension: '0003*210', CallFlow: 'IN' };
    await sendEvent(t.url, 'dial-in', params);
    await sendEvent(t.url, 'hangup', { ...params, CallStatus: 'NOANSWER' });
    const unmapped = newCallId();
    const other = { CallID: unmapped, CallerIDNum: '0015551234567', CalledExtension: '0009*100', CallFlow: 'IN' };
    await sendEvent(t.url, 'dial-in', other);
    await sendEvent(t.url, 'hangup', { ...other, CallStatus: 'NOANSWER' });
    const failing = newCallId();
    const third = { CallID: failing, CallerIDNum: '0015551234567', CalledExtension: '0004*100', CallFlow: 'IN' };
    await sendEvent(t.url, 'dial-in', third);
    await sendEvent(t.url, 'hangup', { ...third, CallStatus: 'NOANSWER' });
    const queue = t.app.get(EventQueueService).callLog;
    for (const [id, ext, state] of [
      [logged, '0003*210', 'completed'],
      [unmapped, '0009*100', 'completed'],
      [failing, '0004*100', 'failed'],
    ]) {
      await eventually(async () => ((await (await queue.getJob(logCallJobId(id, ext)))?.getState()) === state ? true : undefined), 15_000, `${ext}'s log job`);
    }
    const found = await json(await call(t, 'GET', `/admin/calls/search?number=${encodeURIComponent('+1 (555) 123-4567')}`));
    expect(found.body.calls.map((c: any) => c.callId)).toEqual(expect.arrayContaining([logged, unmapped]));
    expect(found.body.calls.find((c: any) => c.callId === logged)).toMatchObject({ remoteNumber: '0015551234567', log: { status: 'logged', connection: 'demo' } });

    const inbox = await json(await call(t, 'GET', '/admin/unlogged'));
    const group = inbox.body.groups.find((g: any) => g.category === 'unmapped');
    expect(group.calls).toEqual([expect.objectContaining({ callId: unmapped, extension: '0009*100', reason: 'extension not mapped to a CRM connection', replayable: true })]);
    expect(inbox.body.groups.flatMap((g: any) => g.calls).some((c: any) => c.callId === logged)).toBe(false);
    const exhausted = inbox.body.groups.find((g: any) => g.category === 'retries-exhausted');
    expect(exhausted.calls).toEqual([
      expect.objectContaining({ callId: failing, connection: 'broken', status: 'failed', attempts: '2 of 2', reason: expect.stringMatching(/^Cannot append to .*a-directory: .*\(attempt 2 of 2\)$/) }),
    ]);

    const overview = (await json(await call(t, 'GET', '/admin/overview'))).body;
    expect(overview.calls.lastHour).toEqual({ logged: 1, skipped: 1, failed: 1 });
    expect(overview.calls.lastDay).toEqual({ logged: 1, skipped: 1, failed: 1 });
    expect(overview.queues['call-log'].failed).toBe(1);
    expect(overview.connections.map((c: any) => [c.name, c.state])).toEqual([
      ['demo', 'ready'],
      ['broken', expect.any(String)],
    ]);

    const replay = await json(await call(t, 'POST', '/admin/unlogged/replay', { ids: [logCallJobId(logged, '0003*210')] }));
    expect(replay.body).toEqual({ replayed: [], refused: [{ jobId: logCallJobId(logged, '0003*210'), why: 'already logged' }] });
    const lines = readFileSync(join(dir, 'calls.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .filter((l) => l.includes(logged));
    expect(lines).toHaveLength(1);
  });

  it("a revoked link is refused by every instance (the page, its session and its stream) while the extension's other links keep working; the list never shows tokens", async () => {
    const issue = async () => (await json(await call(t, 'POST', '/admin/agent-links', { extensions: ['0003*210'], ttlHours: 2 }))).body;
    const revoked = await issue();
    const kept = await issue();
    expect(revoked.id).toMatch(/^[\w-]+$/);
    const list = await json(await call(t, 'GET', '/admin/agent-links?extension=0003*210'));
    expect(list.body.links.map((l: any) => l.id)).toEqual(expect.arrayContaining([revoked.id, kept.id]));
    expect(JSON.stringify(list.body)).not.toContain(revoked.token);
    expect((await fetch(`${second.url}/agent/session?token=${revoked.token}`)).status).toBe(200);

    const res = await json(await call(t, 'DELETE', `/admin/agent-links/${revoked.id}`));
    expect(res.body.revoked).toMatchObject({ id: revoked.id, revokedAt: expect.any(String) });
    for (const app of [t, second]) {
      const session = await eventually(
        async () => {
          const r = await fetch(`${app.url}/agent/session?token=${revoked.token}`);
          return r.status === 403 ? r : undefined;
        },
        10_000,
        'the revocation to reach the instance',
      );
      expect(((await session.json()) as any).message).toContain('revoked');
      expect((await fetch(`${app.url}/agent/stream?token=${revoked.token}`)).status).toBe(403);
      expect((await fetch(`${app.url}/agent?token=${revoked.token}`)).status).toBe(403);
      // The card's writes too.
      const write = await fetch(`${app.url}/agent/calls/wrap-up`, {
        method: 'POST',
        headers: { authorization: `Bearer ${revoked.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ callId: 'x', extension: '0003*210', notes: 'n' }),
      });
      expect(write.status).toBe(403);
      expect((await fetch(`${app.url}/agent/session?token=${kept.token}`)).status).toBe(200);
    }
    expect((await call(t, 'DELETE', '/admin/agent-links/no-such-link')).status).toBe(404);
  });
});
