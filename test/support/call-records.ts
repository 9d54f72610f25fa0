import { CallRecord } from '../../src/calls/call-record';

/** An answered inbound call as the fold produces it: what the CRM provider tests log. */
export function answeredCall(over: Partial<CallRecord> = {}): CallRecord {
  return {
    callId: 'call-1',
    extension: '0003*210',
    direction: 'inbound',
    caller: { number: '0015551234567', name: 'J ROE' },
    callee: { did: '+3222222222', extension: '0003*210' },
    remoteNumber: '0015551234567',
    startedAt: Date.parse('2026-11-24T10:00:00Z'),
    answeredAt: Date.parse('2026-11-24T10:00:12Z'),
    endedAt: Date.parse('2026-11-24T10:01:12Z'),
    ringSeconds: 12,
    talkSeconds: 60,
    outcome: 'answered',
    events: [],
    extra: {},
    ...over,
  };
}
