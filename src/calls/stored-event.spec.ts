import { EventType, parseCallEvent } from '../ingest/call-event';
import { decodeEvent, encodeEvent } from './stored-event';

describe('stored events', () => {
  const parse = (type: EventType, params: Record<string, string>) => {
    const parsed = parseCallEvent(type, params, 1_764_615_000_123, { maxExtraParameters: 8 });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    return parsed.event;
  };

  it.each([
    [
      'dial-in',
      { CallID: 'c1', CallerIDNum: '+15551234567', CallerIDNam: 'Jane Roe', CalledDID: '+3222222222', CalledExtension: '0003*210', CallStatus: 'CALLING', CallFlow: 'IN', CalledNumber: '+3222222222' },
    ],
    ['dial-out', { CallID: 'c2', CallerExtension: '0003*211', CalledNumber: '+442071234567', CallFlow: 'OUT', CallStatus: 'CALLING', source: 'pbx1' }],
    ['hangup', { CallID: 'c3', CalledExtension: '210' }],
  ] as [EventType, Record<string, string>][])('a %s event reads back exactly as it arrived', (type, params) => {
    const event = parse(type, params);
    expect(decodeEvent(event.type, event.callId, event.extension, encodeEvent(event))).toEqual(event);
  });

  it('keeps an event in well under half of its JSON', () => {
    const event = parse('dial-in', {
      CallID: 'c4',
      CallerIDNum: '+15551234567',
      CallerIDNam: 'Jane Roe',
      CalledDID: '+3222222222',
      CalledExtension: '0003*210',
      CallStatus: 'CALLING',
      CallFlow: 'IN',
      CalledNumber: '+3222222222',
    });
    expect(encodeEvent(event).length).toBeLessThan(JSON.stringify(event).length / 2);
  });
});
