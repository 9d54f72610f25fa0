import { CallStateService } from '../src/calls/call-state.service';
import { eventually, newCallId, sendEvent, startTestApp, TestApp } from './support/test-app';

/** Call records as a user sees them after real HTTP events, in order, twice, or out of order. */
describe('Call records', () => {
  let t: TestApp;
  let calls: CallStateService;
  beforeAll(async () => {
    t = await startTestApp({});
    calls = t.app.get(CallStateService);
  });
  afterAll(() => t.close());

  const base = (callId: string) => ({ CallID: callId, CallerIDNum: '0015551234567', CalledExtension: '0003*210', CallFlow: 'IN' });
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** The record once the workers have kept the call's first `n` events (each pop job keeps its own). */
  const kept = (callId: string, n: number) =>
    eventually(
      async () => {
        const r = await calls.get(callId, '0003*210');
        return r && r.events.length >= n ? r : undefined;
      },
      10_000,
      `${n} events of ${callId} kept`,
    );

  it('answered call: outcome, ring and talk time measured between arrivals', async () => {
    const id = newCallId();
    await sendEvent(t.url, 'dial-in', { ...base(id), CallStatus: 'CALLING' });
    await pause(1100);
    await sendEvent(t.url, 'answer-in', base(id));
    await pause(1100);
    await sendEvent(t.url, 'hangup', { ...base(id), CallStatus: 'ANSWER' }, { method: 'POST' });
    const r = await kept(id, 3);
    expect(r).toMatchObject({ direction: 'inbound', outcome: 'answered', ringSeconds: 1, talkSeconds: 1, remoteNumber: '0015551234567', organisation: '0003' });
  });

  it('missed and busy calls', async () => {
    const missed = newCallId();
    await sendEvent(t.url, 'dial-in', base(missed));
    await sendEvent(t.url, 'hangup', { ...base(missed), CallStatus: 'NOANSWER' });
    const busy = newCallId();
    await sendEvent(t.url, 'dial-in', base(busy));
    await sendEvent(t.url, 'hangup', { ...base(busy), CallStatus: 'BUSY' });
    expect((await kept(missed, 2)).outcome).toBe('missed');
    expect((await kept(busy, 2)).outcome).toBe('busy');
  });

  it('out of order and duplicated: Hangup first, Answer twice, Dial-In last', async () => {
    const id = newCallId();
    await sendEvent(t.url, 'hangup', { ...base(id), CallStatus: 'ANSWER' });
    await sendEvent(t.url, 'answer-in', base(id));
    await sendEvent(t.url, 'answer-in', base(id));
    await sendEvent(t.url, 'dial-in', base(id));
    const r = await kept(id, 3);
    expect(r?.outcome).toBe('answered');
    expect(r?.events.map((e) => e.type)).toEqual(['hangup', 'answer-in', 'dial-in']);
    expect(r?.talkSeconds).toBeUndefined();
  });

  it('a Hangup hands the finished record to the call-log worker, which logs it in the mapped CRM', async () => {
    const id = newCallId();
    await sendEvent(t.url, 'dial-in', base(id));
    await sendEvent(t.url, 'hangup', { ...base(id), CallStatus: 'CANCEL' });
    const line = await eventually(() => t.logs.find((l) => l.event === 'call.logged' && l.callId === id), 15_000, 'call.logged');
    expect(line).toMatchObject({ outcome: 'missed', connection: 'demo', created: true });
    expect(await calls.annotations(id, '0003*210')).toMatchObject({ log: { status: 'logged', connection: 'demo' } });
  });
});
