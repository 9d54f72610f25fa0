import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, newCallId, sendEvent, startTestApp, TEST_ADMIN_TOKEN, TEST_TOKEN, TestApp } from './support/test-app';

const CONFIG = (extra = '') => `calls: { hangupSettleMs: 50 }
workers: { callLogAttempts: 2 }
connections:
  demo: { type: file, contactsCsv: contacts.csv, callLogFile: calls.jsonl }
mappings:
  defaults: { connection: demo, country: US }
  extensions:
    "0003*210": { owner: { id: agent-210 } }
${extra}`;
const CSV = 'id,name,company,phone\nc-001,Jane Roe,Acme Corp,(555) 123-4567\n';

describe('Admin API, config reload and metrics', () => {
  let t: TestApp;
  let dir: string;
  const admin = (path: string, init: Omit<RequestInit, 'headers'> & { headers?: Record<string, string> } = {}) =>
    fetch(`${t.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers ?? {}) },
    });
  const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vncc-admin-'));
    writeFileSync(join(dir, 'contacts.csv'), CSV);
    writeFileSync(join(dir, 'connector.yaml'), CONFIG());
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml') });
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['no token', undefined],
    ['a wrong token', 'Bearer nope'],
    ['the ingest token', `Bearer ${TEST_TOKEN}`],
  ])('refuses %s with 401', async (_what, authorization) => {
    const res = await fetch(`${t.url}/admin/config`, { headers: authorization ? { authorization } : {} });
    expect(res.status).toBe(401);
  });

  it('shows the active configuration and where it came from', async () => {
    const { status, body } = await json(await admin('/admin/config'));
    expect(status).toBe(200);
    expect(body.file).toBe(join(dir, 'connector.yaml'));
    expect(Object.keys(body.config.connections)).toEqual(['demo']);
  });

  it('resolves an extension: which rule matched and the effective settings', async () => {
    const { body } = await json(await admin('/admin/mappings/resolve?extension=0003*210'));
    expect(body).toMatchObject({ matched: 'extension', connection: 'demo', owner: { id: 'agent-210' }, country: 'US', rules: ['defaults', 'extensions.0003*210'] });
    expect((await admin('/admin/mappings/resolve?extension=nope')).status).toBe(400);
  });

  it('tests a lookup: the forms searched, the matches, and the cache on the second try', async () => {
    const first = await json(await admin('/admin/lookup', { method: 'POST', body: JSON.stringify({ connection: 'demo', number: '0015551234567', fresh: true }) }));
    expect(first.body).toMatchObject({ cached: false, query: { e164: '+15551234567', forms: ['+15551234567', '5551234567', '0015551234567'] }, matches: [{ id: 'c-001' }] });
    const second = await json(await admin('/admin/lookup', { method: 'POST', body: JSON.stringify({ connection: 'demo', number: '+1 555 123 4567' }) }));
    expect(second.body.cached).toBe(true);
    expect((await admin('/admin/lookup', { method: 'POST', body: JSON.stringify({ connection: 'nope', number: '1' }) })).status).toBe(404);
  });

  it('validates a posted configuration without applying it', async () => {
    const ok = await json(await admin('/admin/config/validate', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: CONFIG() }));
    expect(ok.body).toEqual({ valid: true, problems: [] });
    const bad = await json(await admin('/admin/config/validate', { method: 'POST', body: JSON.stringify({ yaml: 'mappings:\n  defaults: { connection: ghost }' }) }));
    expect(bad.body.valid).toBe(false);
    expect(bad.body.problems[0]).toMatchObject({ path: 'mappings.defaults.connection', message: expect.stringContaining('unknown connection "ghost"') });
  });

  it('a call that fails permanently stays in the failed set with its reason; replayed after the fix, it is logged exactly once', async () => {
    await unlink(join(dir, 'contacts.csv'));
    await admin('/admin/lookup-cache?connection=demo&number=0015551234567', { method: 'DELETE' });
    const id = newCallId();
    const params = { CallID: id, CallerIDNum: '0015551234567', CalledExtension: '0003*210', CallFlow: 'IN' };
    await sendEvent(t.url, 'dial-in', params);
    await sendEvent(t.url, 'hangup', { ...params, CallStatus: 'ANSWER' });
    const failed = await eventually(
      async () => {
        const { body } = await json(await admin('/admin/jobs/failed?queue=call-log'));
        return body.jobs.find((j: any) => j.data.callId === id);
      },
      15_000,
      'the failed job',
    );
    expect(failed.failedReason).toMatch(/demo: Contacts file .*contacts\.csv cannot be read/);

    writeFileSync(join(dir, 'contacts.csv'), CSV);
    await admin('/admin/lookup-cache?connection=demo&number=0015551234567', { method: 'DELETE' });
    const replay = await json(await admin('/admin/jobs/failed/replay', { method: 'POST', body: JSON.stringify({ queue: 'call-log', ids: [failed.id] }) }));
    expect(replay.body.replayed).toEqual([failed.id]);
    const lines = async () => (await readFile(join(dir, 'calls.jsonl'), 'utf8').catch(() => '')).split('\n').filter((l) => l.includes(id));
    await eventually(async () => ((await lines()).length === 1 ? true : undefined), 15_000, 'the logged call');
    // Replaying again (a second click) must not log it twice.
    await admin('/admin/jobs/failed/replay', { method: 'POST', body: JSON.stringify({ queue: 'call-log' }) });
    await new Promise((r) => setTimeout(r, 500));
    expect(await lines()).toHaveLength(1);
    expect(JSON.parse((await lines())[0])).toMatchObject({ contactId: 'c-001', ownerId: 'agent-210' });

    const { body } = await json(await admin('/admin/calls/recent?limit=20'));
    expect(body.calls.find((c: any) => c.callId === id)).toMatchObject({ outcome: 'answered', log: { status: 'logged', connection: 'demo', matchId: 'c-001' } });
  });

  it('reloads a changed file while events flow; a bad file is refused and the previous mappings keep serving', async () => {
    writeFileSync(join(dir, 'connector.yaml'), CONFIG('    "0003*211": { owner: { id: agent-211 } }\n'));
    await eventually(
      async () => {
        const { body } = await json(await admin('/admin/mappings/resolve?extension=0003*211'));
        return body.owner?.id === 'agent-211' ? true : undefined;
      },
      5000,
      'the file-change reload',
    );

    writeFileSync(join(dir, 'connector.yaml'), 'mappings:\n  defaults: { connection: ghost }\n');
    const reload = await json(await admin('/admin/config/reload', { method: 'POST' }));
    expect(reload.status).toBe(400);
    expect(reload.body.problems).toContain('unknown connection "ghost"');
    const { body } = await json(await admin('/admin/mappings/resolve?extension=0003*211'));
    expect(body.owner).toEqual({ id: 'agent-211' });
    expect(t.logs.some((l) => l.event === 'config.refused')).toBe(true);
    const res = await sendEvent(t.url, 'dial-in', { CallID: newCallId(), CalledExtension: '0003*211' });
    expect(res.status).toBe(202);
    writeFileSync(join(dir, 'connector.yaml'), CONFIG());
  });

  it('exposes Prometheus metrics after a call, with bounded labels', async () => {
    const id = newCallId();
    const params = { CallID: id, CallerIDNum: '0015551234567', CalledExtension: '0003*210', CallFlow: 'IN' };
    await sendEvent(t.url, 'dial-in', params);
    await sendEvent(t.url, 'hangup', { ...params, CallStatus: 'NOANSWER' });
    await sendEvent(t.url, 'nonsense', params);
    const text = await eventually(
      async () => {
        const body = await (await fetch(`${t.url}/metrics`)).text();
        return /vncc_calls_total\{result="logged",reason=""\} [1-9]/.test(body) ? body : undefined;
      },
      15_000,
      'the logged-call counter',
    );
    expect(text).toMatch(/vncc_events_received_total\{type="dial-in",status="202"\} [1-9]/);
    expect(text).toMatch(/vncc_events_received_total\{type="unknown",status="404"\} [1-9]/);
    expect(text).toMatch(/vncc_lookup_cache_total\{connection="demo",result="hit"\} [1-9]/);
    expect(text).toMatch(/vncc_screen_pop_latency_seconds_count\{lookup="done"\} [1-9]/);
    expect(text).toMatch(/vncc_queue_jobs\{queue="call-log",state="failed"\}/);
    expect(text).not.toContain(id);
    expect(text).not.toContain('5551234567');
  });

  it('readiness reports Redis and each CRM connection, and a paused connection', async () => {
    await admin('/admin/connections/demo/pause', { method: 'POST', body: JSON.stringify({ minutes: 5 }) });
    const ready = await json(await fetch(`${t.url}/health/ready`));
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', redis: { ok: true }, crm: { demo: { ok: true, pauseReason: 'paused by ops' } } });
    await admin('/admin/connections/demo/resume', { method: 'POST' });
    const after = await json(await fetch(`${t.url}/health/ready`));
    expect(after.body.crm.demo.pausedUntil).toBeUndefined();
  });

  it('serves the queue dashboard only with the admin token (Basic auth for browsers)', async () => {
    const anonymous = await fetch(`${t.url}/admin/queues`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic/);
    const basic = Buffer.from(`ops:${TEST_ADMIN_TOKEN}`).toString('base64');
    const page = await fetch(`${t.url}/admin/queues`, { headers: { authorization: `Basic ${basic}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
  });
});
