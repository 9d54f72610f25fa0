import { CallEvent, EventType } from '../ingest/call-event';
import { foldCallRecord } from './call-record';

function ev(type: EventType, at: number, extra: Partial<CallEvent> = {}): CallEvent {
  const flow = type.endsWith('out') ? 'OUT' : 'IN';
  return {
    id: `${type}-c1-210`,
    type,
    callId: 'c1',
    flow,
    extension: '0003*210',
    organisation: '0003',
    callerNumber: flow === 'IN' ? '0015551234567' : undefined,
    calledNumber: flow === 'OUT' ? '003258422544' : undefined,
    extra: {},
    receivedAt: at,
    ...extra,
  };
}

describe(foldCallRecord.name, () => {
  it('answered inbound call: ring time to the Answer, talk time to the Hangup', () => {
    const r = foldCallRecord({
      'dial-in': ev('dial-in', 0, { status: 'CALLING' }),
      'answer-in': ev('answer-in', 12_000),
      hangup: ev('hangup', 72_400, { status: 'ANSWER' }),
    });
    expect(r).toMatchObject({ direction: 'inbound', outcome: 'answered', ringSeconds: 12, talkSeconds: 60, remoteNumber: '0015551234567' });
  });

  it('missed inbound call: NOANSWER or a caller who gave up (CANCEL) is missed, ring time to the Hangup', () => {
    for (const status of ['NOANSWER', 'CANCEL', 'UNKNOWN']) {
      const r = foldCallRecord({ 'dial-in': ev('dial-in', 0), hangup: ev('hangup', 25_000, { status }) });
      expect(r).toMatchObject({ outcome: 'missed', ringSeconds: 25, hangupStatus: status });
      expect(r?.talkSeconds).toBeUndefined();
    }
  });

  it('busy, congestion and an outbound call cancelled by the agent', () => {
    expect(foldCallRecord({ 'dial-in': ev('dial-in', 0), hangup: ev('hangup', 1000, { status: 'BUSY' }) })?.outcome).toBe('busy');
    expect(foldCallRecord({ 'dial-in': ev('dial-in', 0), hangup: ev('hangup', 1000, { status: 'CHANUNAVAIL' }) })?.outcome).toBe('failed');
    const out = foldCallRecord({ 'dial-out': ev('dial-out', 0), hangup: ev('hangup', 9000, { status: 'CANCEL', flow: 'OUT' }) });
    expect(out).toMatchObject({ direction: 'outbound', outcome: 'cancelled', remoteNumber: '003258422544' });
  });

  it('a Hangup that arrived before its Answer: answered, talk time unknown rather than negative', () => {
    const r = foldCallRecord({
      'dial-in': ev('dial-in', 0),
      hangup: ev('hangup', 30_000, { status: 'ANSWER' }),
      'answer-in': ev('answer-in', 30_050),
    });
    expect(r).toMatchObject({ outcome: 'answered', ringSeconds: 30 });
    expect(r?.talkSeconds).toBeUndefined();
  });

  it('an Answer with no Dial-In: answered, no ring time invented', () => {
    const r = foldCallRecord({ 'answer-out': ev('answer-out', 5000), hangup: ev('hangup', 65_000, { status: 'ANSWER', flow: 'OUT' }) });
    expect(r).toMatchObject({ direction: 'outbound', outcome: 'answered', talkSeconds: 60, startedAt: 5000 });
    expect(r?.ringSeconds).toBeUndefined();
  });

  it('live states before the Hangup: ringing, then talking', () => {
    expect(foldCallRecord({ 'dial-in': ev('dial-in', 0) })?.outcome).toBe('ringing');
    expect(foldCallRecord({ 'dial-in': ev('dial-in', 0), 'answer-in': ev('answer-in', 1) })?.outcome).toBe('talking');
    expect(foldCallRecord({})).toBeUndefined();
  });
});
