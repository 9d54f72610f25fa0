import { eventId, parseCallEvent } from './call-event';

const opts = { maxExtraParameters: 3 };
const parse = (type: Parameters<typeof parseCallEvent>[0], params: Record<string, unknown>) => parseCallEvent(type, params, 1000, opts);

describe(parseCallEvent.name, () => {
  it('normalises a Dial-In as VoipNow sends it, owned by the called extension', () => {
    const r = parse('dial-in', {
      CallID: '1699.42',
      CallerIDNum: '0015551234567',
      CallerIDNam: 'Jane Roe',
      CalledDID: '+3222222222',
      CalledExtension: '0003*210',
      CallStatus: 'calling',
      CallFlow: 'IN',
      CallerExtension: '',
      CalledNumber: '0003*210',
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.event).toMatchObject({
      type: 'dial-in',
      callId: '1699.42',
      flow: 'IN',
      status: 'CALLING',
      extension: '0003*210',
      organisation: '0003',
      callerNumber: '0015551234567',
      callerName: 'Jane Roe',
      receivedAt: 1000,
    });
    expect(r.event.callerExtension).toBeUndefined();
  });

  it('accepts the Developer Guide spelling CallerIDName as well as the KB spelling CallerIDNam', () => {
    const a = parse('dial-in', { CallID: '1', CallerIDName: 'Ann' });
    const b = parse('dial-in', { CallID: '1', CallerIDNam: 'Ann' });
    expect(a.ok && a.event.callerName).toBe('Ann');
    expect(b.ok && b.event.callerName).toBe('Ann');
  });

  it('owns an outgoing call by the calling extension and infers the flow from the event type', () => {
    const r = parse('dial-out', { CallID: '7', CallerExtension: '0003*211', CalledNumber: '003258422544' });
    expect(r.ok && r.event).toMatchObject({ flow: 'OUT', extension: '0003*211', calledNumber: '003258422544' });
  });

  it('keeps CallAPIID and unknown parameters, up to the configured number, and names the rest as ignored', () => {
    const r = parse('hangup', { CallID: '1', CallAPIID: 'api-77', a: '1', b: '2', c: '3', d: '4' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.event.callApiId).toBe('api-77');
    expect(r.event.extra).toEqual({ a: '1', b: '2', c: '3' });
    expect(r.ignored).toEqual(['d']);
  });

  it.each([
    [{}, 'CallID', 'is required'],
    [{ CallID: 'a b' }, 'CallID', 'printable'],
    [{ CallID: 'x'.repeat(129) }, 'CallID', 'printable'],
    [{ CallID: ['1', '2'] }, 'CallID', 'more than once'],
    [{ CallID: { $ne: 1 } }, 'CallID', 'not an object'],
    [{ CallID: '1', CallerIDNum: '555\u0000' }, 'CallerIDNum', 'phone number'],
    [{ CallID: '1', CallerIDNum: '5'.repeat(65) }, 'CallerIDNum', 'phone number'],
    [{ CallID: '1', CalledExtension: '0003*abc' }, 'CalledExtension', 'extension number'],
    [{ CallID: '1', CallFlow: 'SIDEWAYS' }, 'CallFlow', 'IN or OUT'],
    [{ CallID: '1', CallerIDNam: 'x'.repeat(300) }, 'CallerIDNam', 'at most 256'],
    [{ CallID: '1', CallerIDNam: 'bell\u0007' }, 'CallerIDNam', 'control characters'],
  ])('refuses %j with a message naming the field', (params, field, text) => {
    const r = parse('dial-in', params);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const problem = r.problems.find((p) => p.field === field);
    expect(problem?.problem).toContain(text);
  });

  it('accepts anonymous callers and unknown CallStatus values', () => {
    const r = parse('hangup', { CallID: '1', CallerIDNum: 'anonymous', CallStatus: 'SOMETHING_NEW' });
    expect(r.ok && r.event).toMatchObject({ callerNumber: 'anonymous', status: 'SOMETHING_NEW' });
  });
});

describe(eventId.name, () => {
  it('never contains ":" (BullMQ 6 refuses it) and never maps two inputs to one id', () => {
    const ids = [eventId('hangup', 'a:b', '1*2'), eventId('hangup', 'a_b', '1*2'), eventId('hangup', 'a~3Ab', '1*2'), eventId('hangup', 'a-b', '1*2')];
    for (const id of ids) expect(id).not.toContain(':');
    expect(new Set(ids).size).toBe(ids.length);
  });
});
