import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CallUpdatePublisher } from '../../src/calls/call-update.publisher';
import { RedisKeys } from '../../src/redis/redis-keys';
import { signAgentToken } from '../../src/screen-pop/agent-token';
import { UpdateHub } from '../../src/screen-pop/update-hub.service';
import { eventually, newCallId, sendEvent, startTestApp, TEST_ADMIN_TOKEN, TestApp } from '../support/test-app';
import { openSse, SseConnection, updatesOf } from './sse-client';
import { startTwoInstances, stopInstance } from './instances';

const SECRET = 'agent-link-secret-for-tests-0123456789';

/**
 * The agent stream over plain HTTP (the browser tests cover the page): links, refusals, replay by
 * Last-Event-ID, fan-out across two instances, and that nothing is sent twice.
 */
describe('Agent screen-pop stream', () => {
  let a: TestApp; // api + workers
  let b: TestApp; // api only, same Redis prefix: a second instance behind the load balancer
  let dir: string;
  const open: SseConnection[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vncc-pop-'));
    writeFileSync(join(dir, 'contacts.csv'), await readFile(resolve(__dirname, '../../config/contacts.csv'), 'utf8'));
    ({ a, b } = await startTwoInstances(dir, SECRET));
  });
  afterAll(async () => {
    open.forEach((c) => c.close());
    if (b) await stopInstance(b);
    await a?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const link = (...ext: string[]) => signAgentToken(SECRET, ext).token;
  const connect = async (base: string, token: string, headers: Record<string, string> = {}, query = '') => {
    const conn = await openSse(`${base}/agent/stream?token=${token}${query}`, headers);
    open.push(conn);
    return conn;
  };
  const ready = (conn: SseConnection) => eventually(() => conn.messages.find((m) => m.event === 'ready'), 5000, 'the ready event');
  const dialIn = (ext: string, from = '0015551234567', callId = newCallId()) =>
    sendEvent(a.url, 'dial-in', { CallID: callId, CallerIDNum: from, CallerIDNam: 'J ROE', CalledExtension: ext, CalledDID: '+3222222222', CallFlow: 'IN', CallStatus: 'CALLING' }).then(() => callId);
  const admin = (body: unknown, token = TEST_ADMIN_TOKEN) =>
    fetch(`${a.url}/admin/agent-links`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('ops mint a link through the admin API; bad requests get a 4xx that says why', async () => {
    expect((await admin({ extensions: ['0003*210'] }, 'wrong')).status).toBe(401);
    const bad = await admin({ extensions: ['0003*210', '<b>'] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).message).toMatch(/extensions\.1: an extension is/);
    expect((await admin({ extensions: [] })).status).toBe(400);
    expect((await admin({ extensions: ['210'], ttlHours: -1 })).status).toBe(400);
    const res = await admin({ extensions: ['0003*210', '0003*211'], ttlHours: 8 });
    expect(res.status).toBe(201);
    const minted = (await res.json()) as any;
    expect(minted).toMatchObject({ extensions: ['0003*210', '0003*211'], path: `/agent?token=${minted.token}`, url: `${a.url}/agent?token=${minted.token}` });
    expect(Date.parse(minted.expiresAt) - Date.now()).toBeGreaterThan(7.9 * 3600_000);
    const session = await fetch(`${a.url}/agent/session?token=${minted.token}`);
    expect(await session.json()).toEqual({ extensions: ['0003*210', '0003*211'], expiresAt: minted.expiresAt });
  });

  it('npm run agent-link prints a link the server accepts (built CLI, same secret from the environment)', async () => {
    const cli = spawnSync(process.execPath, [resolve(__dirname, '../../dist/cli/agent-link.js'), '--ext', '0003*210', '--ext', '0003*212', '--ttl-hours', '2', '--url', a.url, '--json'], {
      env: { PATH: process.env.PATH, AGENT_LINK_SECRET: SECRET },
      encoding: 'utf8',
    });
    expect(cli.stderr).toBe('');
    const printed = JSON.parse(cli.stdout);
    expect(printed.url).toBe(`${a.url}/agent?token=${printed.token}`);
    const session = await fetch(`${a.url}/agent/session?token=${printed.token}`);
    expect(await session.json()).toEqual({ extensions: ['0003*210', '0003*212'], expiresAt: printed.expiresAt });
    const refused = spawnSync(process.execPath, [resolve(__dirname, '../../dist/cli/agent-link.js'), '--ext', 'nope'], {
      env: { PATH: process.env.PATH, AGENT_LINK_SECRET: SECRET },
      encoding: 'utf8',
    });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/Cannot sign: an extension is an extended/);
  });

  it('the page and its stream refuse missing (401), forged (401) and expired (403) links, with a message', async () => {
    const expired = signAgentToken(SECRET, ['0003*210'], { ttlHours: 1, now: Date.now() - 2 * 3600_000 }).token;
    const forged = signAgentToken('not-the-secret', ['0003*210']).token;
    for (const [token, status, text] of [
      ['', 401, /needs a signed agent link/],
      [forged, 401, /signature does not match/],
      [expired, 403, /expired at/],
      ['a.b', 401, /damaged/],
    ] as const) {
      const page = await fetch(`${a.url}/agent?token=${token}`);
      expect([token, page.status]).toEqual([token, status]);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect(await page.text()).toMatch(text);
      const stream = await connect(a.url, token);
      expect([token, stream.status]).toEqual([token, status]);
      expect(JSON.parse(stream.body!).message).toMatch(text);
    }
  });

  it('serves the page with a strict CSP and no referrer, and only its own assets', async () => {
    const page = await fetch(`${a.url}/agent?token=${link('0003*210')}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await page.text()).toMatch(/aria-live="polite"/);
    expect((await fetch(`${a.url}/agent/assets/agent.js`)).headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${a.url}/agent/assets/..%2F..%2Fenv.ts`)).status).toBe(404);
  });

  it("streams the caller card of a Dial-In on the link's extension, and nothing of other extensions", async () => {
    const conn = await connect(a.url, link('0003*410'));
    expect(conn.status).toBe(200);
    expect(conn.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(conn.headers.get('cache-control')).toMatch(/no-cache/);
    expect(conn.headers.get('x-accel-buffering')).toBe('no');
    await ready(conn);
    expect(conn.retry).toBe(1000);
    const other = await dialIn('0003*411');
    const mine = await dialIn('0003*410');
    const update = await eventually(() => updatesOf(conn).find((u) => u.record.callId === mine), 10_000, 'the pop');
    expect(update).toMatchObject({ event: 'dial-in', lookup: { status: 'done', matches: [{ displayName: 'Jane Roe', company: 'Acme Corp' }] }, display: { number: '+1 555 123 4567' } });
    expect(update.id).toMatch(/^\d+-\d+$/);
    await sendEvent(a.url, 'dial-in', { CallID: newCallId(), CalledExtension: '0003*410', CallerIDNum: '0015551234567', CallFlow: 'IN' });
    await eventually(() => (updatesOf(conn).length === 2 ? true : undefined), 10_000, 'a second pop');
    expect(updatesOf(conn).some((u) => u.record.callId === other)).toBe(false);
  });

  it('a page that reconnects with Last-Event-ID (header, or ?lastEventId=) gets exactly what it missed', async () => {
    const token = link('0003*420', '0003*421');
    const first = await connect(a.url, token);
    const seen = await dialIn('0003*420');
    await eventually(() => updatesOf(first).find((u) => u.record.callId === seen), 10_000, 'the first pop');
    const lastId = first.messages.at(-1)!.id!;
    expect(lastId.split(',')).toHaveLength(2);
    first.close();

    const missedA = await dialIn('0003*420');
    const missedB = await dialIn('0003*421');
    const keys = a.app.get(RedisKeys);
    await eventually(async () => ((await a.redis.xlen(keys.updatesLog('0003*421'))) > 0 ? true : undefined), 10_000, 'the missed pops to be published');
    await eventually(async () => ((await a.redis.xlen(keys.updatesLog('0003*420'))) > 1 ? true : undefined), 10_000, 'the missed pops to be published');

    for (const resumed of [await connect(b.url, token, { 'last-event-id': lastId }), await connect(b.url, token, {}, `&lastEventId=${encodeURIComponent(lastId)}`)]) {
      await ready(resumed);
      const calls = updatesOf(resumed).map((u) => u.record.callId);
      expect(calls.sort()).toEqual([missedA, missedB].sort());
    }
    // A fresh page (no Last-Event-ID) is shown the last minute, the call it would have missed included.
    const fresh = await connect(b.url, token);
    await ready(fresh);
    expect(
      updatesOf(fresh)
        .map((u) => u.record.callId)
        .sort(),
    ).toEqual([seen, missedA, missedB].sort());
    const bad = await connect(b.url, token, { 'last-event-id': '1-0' });
    expect(bad.status).toBe(400);
  });

  it('two instances: the pop published by one reaches a page on the other, once per page, and the subscription ends with the last page', async () => {
    const token = link('0003*430');
    const pages = [await connect(b.url, token), await connect(b.url, token), await connect(a.url, token)];
    await Promise.all(pages.map(ready));
    const pubsub = a.app.get(CallUpdatePublisher);
    const channel = a.app.get(RedisKeys).updates('0003*430');
    // One subscription per instance, however many pages watch the extension.
    expect(await a.redis.pubsub('NUMSUB', channel)).toEqual([channel, 2]);
    const ids = [await dialIn('0003*430'), await dialIn('0003*430', '0013125550000')];
    for (const page of pages) {
      await eventually(() => (updatesOf(page).length >= 2 ? true : undefined), 10_000, 'both pops on every page');
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const page of pages) {
      expect(
        updatesOf(page)
          .map((u) => u.record.callId)
          .sort(),
      ).toEqual([...ids].sort());
    }
    const unknown = updatesOf(pages[0]).find((u) => u.record.callId === ids[1]);
    expect(unknown.lookup).toMatchObject({ status: 'done', matches: [] });

    // A republished update (a job run twice after its worker died) is not sent again.
    expect(await pubsub.publish({ event: 'dial-in', record: unknown.record, publishedAt: Date.now(), lookup: unknown.lookup })).toBeUndefined();
    pages.forEach((p) => p.close());
    await eventually(async () => ((await a.redis.pubsub('NUMSUB', channel))[1] === 0 ? true : undefined), 5000, 'the subscriptions to end');
    expect(updatesOf(pages[0])).toHaveLength(2);
  });

  it('when the Redis subscriber drops, what was published meanwhile reaches the page from the replay stream, once', async () => {
    const token = link('0003*440');
    const page = await connect(b.url, token);
    await ready(page);
    const callId = await dialIn('0003*440');
    const first = await eventually(() => updatesOf(page).find((u) => u.record.callId === callId), 10_000, 'the first pop');
    // Drop b's subscriber connection, publish while it is away, then let it reconnect.
    const hub: unknown = b.app.get(UpdateHub);
    const sub = (hub as { sub: { disconnect(reconnect: boolean): void; connect(): Promise<void> } }).sub;
    const channel = a.app.get(RedisKeys).updates('0003*440');
    sub.disconnect(false);
    await eventually(async () => ((await a.redis.pubsub('NUMSUB', channel))[1] === 0 ? true : undefined), 5000, 'the subscriber to be gone');
    const again = { ...first, record: { ...first.record, callId: `${callId}-while-away` } };
    delete again.id;
    delete again.streamId;
    delete again.display;
    expect(await a.app.get(CallUpdatePublisher).publish(again)).toMatch(/^\d+-\d+$/);
    await sub.connect();
    await eventually(() => updatesOf(page).find((u) => u.record.callId === again.record.callId), 10_000, 'the update published while the subscriber was away');
    await sendEvent(a.url, 'dial-in', { CallID: `${callId}-after`, CallerIDNum: '0015551234567', CalledExtension: '0003*440', CallFlow: 'IN' });
    await eventually(() => updatesOf(page).find((u) => u.record.callId === `${callId}-after`), 10_000, 'a live pop after the reconnect');
    expect(updatesOf(page).map((u) => u.record.callId)).toEqual([callId, again.record.callId, `${callId}-after`]);
  });

  it("a quiet stream outlives the server's request timeout (the slow-loris guard is for requests, not for open pages)", async () => {
    const c = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), AGENT_LINK_SECRET: SECRET, REDIS_PREFIX: a.prefix, ROLE: 'api', REQUEST_TIMEOUT_MS: '600' });
    try {
      const page = await connect(c.url, link('0003*450'));
      await ready(page);
      await new Promise((r) => setTimeout(r, 1500));
      const callId = await dialIn('0003*450');
      await eventually(() => updatesOf(page).find((u) => u.record.callId === callId), 10_000, 'the pop on the same connection');
    } finally {
      await stopInstance(c);
    }
  });
});
