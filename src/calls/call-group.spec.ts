import { CallRecord } from './call-record';
import { mergeLegs } from './call-group';

const leg = (extension: string, over: Partial<CallRecord>): CallRecord => ({
  callId: 'c1',
  extension,
  direction: 'inbound',
  caller: { number: '+15551234567' },
  callee: { extension },
  remoteNumber: '+15551234567',
  startedAt: 1000,
  outcome: 'missed',
  events: [],
  extra: {},
  ...over,
});

describe(mergeLegs.name, () => {
  it('a ring group answered by one member is one answered call owned by that member', () => {
    const call = mergeLegs([
      leg('0003*204', { startedAt: 1000, endedAt: 5000, outcome: 'missed' }),
      leg('0003*205', { startedAt: 1010, answeredAt: 5000, endedAt: 65_000, outcome: 'answered' }),
      leg('0003*206', { startedAt: 1020, endedAt: 5000, outcome: 'missed' }),
    ]);
    expect(call.owner).toBe('0003*205');
    expect(call.record).toMatchObject({ extension: '0003*205', outcome: 'answered', ringSeconds: 4, talkSeconds: 60, startedAt: 1000, endedAt: 65_000 });
    expect(call.legs.map((l) => l.extension)).toEqual(['0003*204', '0003*205', '0003*206']);
  });

  it('missed by everyone: owned by the first extension rung, ties broken by extension number', () => {
    const call = mergeLegs([leg('0003*206', { startedAt: 1000, endedAt: 9000 }), leg('0003*204', { startedAt: 1000, endedAt: 9000 }), leg('0003*205', { startedAt: 1500, endedAt: 9000 })]);
    expect(call.owner).toBe('0003*204');
    expect(call.record).toMatchObject({ outcome: 'missed', ringSeconds: 8, talkSeconds: undefined });
  });

  it('a transfer: the first to answer owns it, talk time runs to the last hangup', () => {
    const call = mergeLegs([
      leg('0003*205', { startedAt: 0, answeredAt: 2000, endedAt: 30_000, outcome: 'answered' }),
      leg('0003*206', { startedAt: 29_000, answeredAt: 31_000, endedAt: 92_000, outcome: 'answered' }),
    ]);
    expect(call.owner).toBe('0003*205');
    expect(call.record).toMatchObject({ outcome: 'answered', answeredAt: 2000, endedAt: 92_000, talkSeconds: 90 });
  });

  it('without Answer events (only Dial-In and Hangup configured), the leg whose Hangup says ANSWER owns the call', () => {
    const call = mergeLegs([leg('0003*204', { startedAt: 1000, endedAt: 5000, outcome: 'missed' }), leg('0003*205', { startedAt: 1000, endedAt: 60_000, outcome: 'answered' })]);
    expect(call.owner).toBe('0003*205');
    expect(call.record.outcome).toBe('answered');
  });

  it('a leg still on the call keeps the call live and its end unknown', () => {
    const call = mergeLegs([leg('0003*204', { endedAt: 5000 }), leg('0003*205', { answeredAt: 5000, outcome: 'talking' })]);
    expect(call.record.outcome).toBe('talking');
    expect(call.record.endedAt).toBeUndefined();
  });
});
