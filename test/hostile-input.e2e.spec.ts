import fc from 'fast-check';
import { connect } from 'node:net';
import { escapeIdPart } from '../src/ingest/call-event';
import { TEST_ADMIN_TOKEN, TEST_TOKEN, TestApp, newCallId, sendEvent, startTestApp } from './support/test-app';

/**
 * Hostile input: whatever arrives, the connector answers with a 4xx (or 202), never a 5xx,
 * never crashes, never stores an event it refused, and never logs a secret or a full number.
 */
describe('Hostile input', () => {
  let t: TestApp;
  const sentNumbers = new Set<string>();
  // Values also sent as a CallID or an extension are identifiers there, and logged as such.
  const sentAsIds = new Set<string>();
  beforeAll(async () => {
    t = await startTestApp({ AUTH_FAILURES_PER_MINUTE: '5', REQUEST_TIMEOUT_MS: '1000' });
  });
  afterAll(() => t.close());

  const KNOWN = ['CallID', 'CallerIDNum', 'CallerIDNam', 'CallerIDName', 'CalledDID', 'CalledExtension', 'CallStatus', 'CallFlow', 'CallerExtension', 'CalledNumber', 'CallAPIID'];
  const value = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.stringMatching(/^00[1-9][0-9]{9,12}$/),
    fc.stringMatching(/^[0-9]{4}\*[0-9]{3}$/),
    fc.constantFrom('IN', 'OUT', 'ANSWER', 'BUSY', '', '%', '%zz', '\u0000', 'x'.repeat(2000)),
  );
  const hostileParams = fc.dictionary(fc.oneof(fc.constantFrom(...KNOWN), fc.string({ maxLength: 12 })), value, { maxKeys: 14 });
  // A well-formed event with hostile extras: without it, a run of random dictionaries can go by
  // with nothing accepted, and "nothing refused was stored" would be checked against nothing.
  const plausibleParams = fc
    .tuple(
      fc.record({
        CallID: fc.stringMatching(/^[0-9]{10}\.[0-9]{1,4}$/),
        CalledExtension: fc.stringMatching(/^[0-9]{4}\*[0-9]{3}$/),
        CallerIDNum: fc.stringMatching(/^00[1-9][0-9]{9,12}$/),
      }),
      fc.dictionary(fc.string({ maxLength: 12 }), value, { maxKeys: 4 }),
    )
    .map(([event, extras]) => ({ ...extras, ...event }));
  const params = fc.oneof({ weight: 3, arbitrary: hostileParams }, { weight: 1, arbitrary: plausibleParams });
  const request = fc.record({
    type: fc.oneof(fc.constantFrom('dial-in', 'dial-out', 'answer-in', 'answer-out', 'hangup'), fc.string({ maxLength: 10 })),
    method: fc.constantFrom('GET', 'POST-form', 'POST-json', 'POST-raw'),
    params,
    raw: fc.uint8Array({ maxLength: 300 }),
    contentType: fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain', 'application/octet-stream', 'multipart/form-data; boundary=x', ''),
    token: fc.constantFrom(TEST_TOKEN, TEST_TOKEN, TEST_TOKEN, `${TEST_TOKEN}x`),
  });

  it('never answers 5xx, never stores what it refused', async () => {
    const accepted = new Set<string>();
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        for (const [name, v] of Object.entries(r.params)) {
          if (typeof v !== 'string') continue;
          if (['CallerIDNum', 'CalledNumber', 'CalledDID'].includes(name)) {
            if (/^\d{10,}$/.test(v)) sentNumbers.add(v);
          } else sentAsIds.add(v);
        }
        const base = `${t.url}/voipnow/events/${encodeURIComponent(r.type)}?token=${encodeURIComponent(r.token)}`;
        const form = new URLSearchParams(r.params as Record<string, string>).toString();
        let res: Response;
        if (r.method === 'GET') res = await fetch(`${base}&${form}`);
        else if (r.method === 'POST-form') res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
        else if (r.method === 'POST-json') res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(r.params) });
        else res = await fetch(base, { method: 'POST', headers: r.contentType ? { 'content-type': r.contentType } : {}, body: Buffer.from(r.raw) });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect([202, 400, 401, 404, 413, 415, 429]).toContain(res.status);
        const body = (await res.json()) as { id?: string; message?: string };
        if (res.status === 202) accepted.add(body.id!);
        else expect(typeof body.message).toBe('string');
      }),
      { numRuns: 400 },
    );
    // Every stored event (its screen-pop job, added at ingest, carries it) belongs to an accepted
    // request: nothing refused was stored.
    const jobPrefix = `${t.prefix}:screen-pop:`;
    const stored = new Set(
      (await t.redis.keys(`${jobPrefix}*`)).map((k) => k.slice(jobPrefix.length)).filter((id) => /^(?:dial-in|dial-out|answer-in|answer-out|hangup)-[^:]*$/.test(id)), // not a job's `:lock` key
    );
    expect(stored).toEqual(accepted);
    expect(accepted.size).toBeGreaterThan(0);
    expect(statuses.get(400)).toBeGreaterThan(0);
    expect((await fetch(`${t.url}/health/live`)).status).toBe(200);
  });

  it('a slow (slow-loris) request is cut off after REQUEST_TIMEOUT_MS and stores nothing', async () => {
    const callId = newCallId();
    const started = Date.now();
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const { port } = new URL(t.url);
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`POST /voipnow/events/dial-in?token=${TEST_TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nCallID=${callId}`);
      });
      let reply = '';
      socket.on('data', (d) => (reply += d.toString()));
      const guard = setTimeout(() => reject(new Error('still open after 10 s')), 10_000);
      socket.on('close', () => {
        clearTimeout(guard);
        expect(reply === '' || /^HTTP\/1\.1 408/.test(reply)).toBe(true);
        resolve(Date.now() - started);
      });
      socket.on('error', reject);
    });
    expect(closedAfter).toBeLessThan(5000);
    expect(await t.redis.exists(`${t.prefix}:screen-pop:dial-in-${escapeIdPart(callId)}-`)).toBe(0);
  });

  it('a source sending wrong tokens gets 429 after the limit, but a right token from it is still accepted', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await sendEvent(t.url, 'dial-in', { CallID: newCallId() }, { token: `guess-${i}` })).status);
    expect(statuses.slice(-2)).toEqual([429, 429]);
    const ok = await sendEvent(t.url, 'dial-in', { CallID: newCallId(), CalledExtension: '0003*210' });
    expect(ok.status).toBe(202);
  });

  it('the admin API refuses forged tokens', async () => {
    for (const auth of [`Bearer ${TEST_ADMIN_TOKEN.slice(0, -1)}`, `Bearer ${TEST_ADMIN_TOKEN}x`, `Basic ${Buffer.from(`x:${TEST_TOKEN}`).toString('base64')}`, 'Bearer ']) {
      expect((await fetch(`${t.url}/admin/config`, { headers: { authorization: auth } })).status).toBe(401);
    }
  });

  it('no log line of the whole run holds a token or a full phone number', () => {
    const text = JSON.stringify(t.logs);
    expect(t.logs.length).toBeGreaterThan(100);
    // Print the offender rather than the whole log when this fails.
    expect(t.logs.map((l) => JSON.stringify(l)).find((l) => l.includes(TEST_TOKEN))).toBeUndefined();
    expect(text).not.toContain(TEST_ADMIN_TOKEN);
    expect(sentNumbers.size).toBeGreaterThan(0);
    const leaked = [...sentNumbers].filter((n) => ![...sentAsIds].some((id) => id.includes(n)) && text.includes(n));
    expect(leaked.map((n) => t.logs.map((l) => JSON.stringify(l)).find((l) => l.includes(n)))).toEqual([]);
  });
});
