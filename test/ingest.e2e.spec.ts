import { decodeEvent } from '../src/calls/stored-event';
import { EVENT_TYPES, EventType, eventId } from '../src/ingest/call-event';
import { TEST_TOKEN, TestApp, eventually, newCallId, sendEvent, startTestApp } from './support/test-app';

describe('Ingest routes (real Redis)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const calls = () => t.app.get(require('../src/calls/call-state.service').CallStateService);
  const popQueue = () => t.app.get(require('../src/queue/event-queue.service').EventQueueService).screenPop;
  /** The event as the call state keeps it, once its screen-pop job has run (it carries the event until then). */
  const storedEvent = (callId: string, ext: string, type: EventType) =>
    eventually(
      async () => {
        const json = await t.redis.hget(calls().key(callId, ext), type);
        return json ? decodeEvent(type, callId, ext, json) : undefined;
      },
      10_000,
      `the ${type} event in the call state`,
    );
  /** How many of the call's events are kept anywhere: in the call state or in a screen-pop job. */
  const storedCount = async (callId: string, ext: string) => {
    const jobs = await Promise.all(EVENT_TYPES.map((type) => popQueue().getJob(eventId(type, callId, ext))));
    return jobs.filter(Boolean).length + (await t.redis.hlen(calls().key(callId, ext)));
  };

  describe.each(EVENT_TYPES)('%s', (type) => {
    const flow = type.endsWith('out') ? 'OUT' : 'IN';
    const params = (callId: string) => ({
      CallID: callId,
      CallerIDNum: '0015551234567',
      CallerIDNam: 'Jane Roe',
      CalledExtension: '0003*210',
      CallerExtension: '0003*211',
      CallFlow: flow,
      CallStatus: type === 'hangup' ? 'ANSWER' : 'CALLING',
      CalledNumber: '003258422544',
    });

    it.each(['GET', 'POST'] as const)('%s: 202 only once the event and its job are in Redis', async (method) => {
      const callId = newCallId();
      const res = await sendEvent(t.url, type, params(callId), { method });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ accepted: true });
      const ext = flow === 'IN' ? '0003*210' : '0003*211';
      const stored = await storedEvent(callId, ext, type);
      expect(stored).toMatchObject({ callId, type, callerName: 'Jane Roe', extension: ext });
      const job = await popQueue().getJob(res.body.id);
      expect(job?.data.event.callId).toBe(callId);
    });

    it('POST JSON body is accepted too', async () => {
      const callId = newCallId();
      const res = await fetch(`${t.url}/voipnow/events/${type}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-connector-token': TEST_TOKEN },
        body: JSON.stringify(params(callId)),
      });
      expect(res.status).toBe(202);
    });
  });

  it('the Developer Guide spelling CallerIDName is stored like CallerIDNam', async () => {
    const callId = newCallId();
    await sendEvent(t.url, 'dial-in', { CallID: callId, CallerIDName: 'Dev Guide', CalledExtension: '0003*210' });
    const stored = await storedEvent(callId, '0003*210', 'dial-in');
    expect(stored.callerName).toBe('Dev Guide');
  });

  it('the same (event, CallID, extension) twice is accepted once and the first copy stays; another extension of the ring group is not a duplicate', async () => {
    const callId = newCallId();
    const a = await sendEvent(t.url, 'dial-in', { CallID: callId, CalledExtension: '0003*210', CallerIDNam: 'First Copy' });
    const b = await sendEvent(t.url, 'dial-in', { CallID: callId, CalledExtension: '0003*210', CallerIDNam: 'Second Copy' }, { method: 'POST' });
    const c = await sendEvent(t.url, 'dial-in', { CallID: callId, CalledExtension: '0003*212' });
    expect([a.status, b.status, c.status]).toEqual([202, 202, 202]);
    expect(b.body.id).toBe(a.body.id);
    expect((await storedEvent(callId, '0003*210', 'dial-in')).callerName).toBe('First Copy');
    const jobs = (await popQueue().getJobs(['waiting', 'active', 'completed', 'delayed'])).filter((j: any) => j.data.event.callId === callId);
    expect(jobs).toHaveLength(2);
  });

  describe('authentication', () => {
    it.each([
      ['no token', null, 401],
      ['a wrong token', 'nope', 401],
      ['a token that is a prefix of the real one', TEST_TOKEN.slice(0, 10), 401],
    ])('%s → %i and nothing stored', async (_what, token, status) => {
      const callId = newCallId();
      const res = await sendEvent(t.url, 'dial-in', { CallID: callId, CalledExtension: '0003*210' }, { token });
      expect(res.status).toBe(status);
      expect(await storedCount(callId, '0003*210')).toBe(0);
    });

    it('accepts the token as a bearer header', async () => {
      const res = await fetch(`${t.url}/voipnow/events/dial-in?CallID=${newCallId()}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
      expect(res.status).toBe(202);
    });

    it('never writes the token to the log', () => {
      expect(JSON.stringify(t.logs)).not.toContain(TEST_TOKEN);
    });
  });

  describe('bad input gets a clear error, never a 5xx', () => {
    const url = (type: string, q = '') => `${t.url}/voipnow/events/${type}?token=${TEST_TOKEN}${q}`;
    it.each<[string, () => Promise<Response>, number, RegExp]>([
      ['missing CallID', () => fetch(url('dial-in', '&CallerIDNum=123')), 400, /CallID is required/],
      ['huge CallerIDNam', () => fetch(url('dial-in', `&CallID=1&CallerIDNam=${'x'.repeat(5000)}`)), 400, /CallerIDNam must be at most 256/],
      ['junk in a number', () => fetch(url('dial-in', '&CallID=1&CallerIDNum=%00%01%02')), 400, /CallerIDNum must be a phone number/],
      [
        'binary junk body',
        () => fetch(url('dial-in'), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from([0xff, 0xfe, 0x00, 0x26, 0x3d, 0x80]) }),
        400,
        /CallID is required/,
      ],
      ['malformed JSON', () => fetch(url('dial-in'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"CallID":' }), 400, /not valid JSON/],
      ['JSON array body', () => fetch(url('dial-in'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1]' }), 400, /form or a JSON object/],
      ['wrong content type', () => fetch(url('dial-in'), { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<CallID>1</CallID>' }), 415, /Unsupported Media Type/],
      ['text/plain', () => fetch(url('dial-in'), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'CallID=1' }), 415, /Unsupported Media Type/],
      [
        'oversize body',
        () => fetch(url('dial-in'), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `CallID=1&x=${'a'.repeat(70 * 1024)}` }),
        413,
        /too large/,
      ],
      ['unknown event', () => fetch(url('transfer', '&CallID=1')), 404, /dial-in.*hangup/],
      ['PUT', () => fetch(url('dial-in', '&CallID=1'), { method: 'PUT' }), 405, /GET or POST/],
      ['DELETE', () => fetch(url('hangup', '&CallID=1'), { method: 'DELETE' }), 405, /GET or POST/],
    ])('%s', async (_what, send, status, message) => {
      const res = await send();
      expect(res.status).toBe(status);
      const body = (await res.json()) as { statusCode: number; message: string };
      expect(body.statusCode).toBe(status);
      expect(body.message).toMatch(message);
    });

    it('HEAD does not ingest anything (Fastify would otherwise run the GET handler)', async () => {
      const callId = newCallId();
      const res = await fetch(`${t.url}/voipnow/events/dial-in?token=${TEST_TOKEN}&CallID=${callId}&CalledExtension=210`, { method: 'HEAD' });
      expect(res.status).toBe(405);
      expect(await storedCount(callId, '210')).toBe(0);
    });

    it('logs one line per refused event with the field names, not the values', async () => {
      await fetch(url('dial-in', '&CallID=1&CallerIDNum=5559876%00secret'));
      const line = await eventually(() => t.logs.find((l) => l.event === 'ingest.refused' && JSON.stringify(l.fields) === '["CallerIDNum"]'));
      expect(line).toMatchObject({ status: 400, type: 'dial-in' });
      // The refused value itself (not any digits: job ids hold timestamps) must not reach the logs.
      const text = JSON.stringify(t.logs);
      expect(text).not.toContain('5559876');
      expect(text).not.toContain('secret');
    });
  });

  it('logs accepted events with phone numbers masked', async () => {
    await sendEvent(t.url, 'dial-in', { CallID: newCallId(), CallerIDNum: '0015559876543', CalledExtension: '0003*210' });
    const line = await eventually(() => t.logs.find((l) => l.event === 'ingest.accepted' && String(l.caller).endsWith('543')));
    expect(line.caller).toBe('**********543');
    expect(JSON.stringify(t.logs)).not.toContain('0015559876543');
  });

  it('readiness reports Redis reachable', async () => {
    const res = await fetch(`${t.url}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ready', redis: { ok: true } });
  });
});
