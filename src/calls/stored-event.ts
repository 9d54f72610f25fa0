import { CallEvent, EventType, eventId } from '../ingest/call-event';

/**
 * How an event is kept in its call's hash (field = the event type): what arrived, without what
 * the key and field already say (CallID, extension, type, id) and without empty fields, under
 * short names: 134 bytes for a typical Dial-In whose JSON is 343. Most of a call's Redis memory is its events.
 */
interface StoredEvent {
  /** receivedAt */
  t: number;
  /** flow: present only for OUT (IN is the default) */
  o?: 1;
  s?: string;
  a?: string;
  g?: string;
  cn?: string;
  cm?: string;
  ce?: string;
  dn?: string;
  dd?: string;
  de?: string;
  x?: Record<string, string>;
}

export function encodeEvent(event: CallEvent): string {
  const stored: StoredEvent = {
    t: event.receivedAt,
    o: event.flow === 'OUT' ? 1 : undefined,
    s: event.status,
    a: event.callApiId,
    g: event.organisation,
    cn: event.callerNumber,
    cm: event.callerName,
    ce: event.callerExtension,
    dn: event.calledNumber,
    dd: event.calledDid,
    de: event.calledExtension,
    x: Object.keys(event.extra).length ? event.extra : undefined,
  };
  return JSON.stringify(stored);
}

/** The event `encodeEvent` kept, for the (CallID, extension) of the hash it was read from. */
export function decodeEvent(type: EventType, callId: string, extension: string, json: string): CallEvent {
  const s = JSON.parse(json) as StoredEvent;
  const event: CallEvent = {
    id: eventId(type, callId, extension),
    type,
    callId,
    flow: s.o === 1 ? 'OUT' : 'IN',
    extension,
    extra: s.x ?? {},
    receivedAt: s.t,
  };
  const optional: [keyof CallEvent, string | undefined][] = [
    ['status', s.s],
    ['callApiId', s.a],
    ['organisation', s.g],
    ['callerNumber', s.cn],
    ['callerName', s.cm],
    ['callerExtension', s.ce],
    ['calledNumber', s.dn],
    ['calledDid', s.dd],
    ['calledExtension', s.de],
  ];
  for (const [key, value] of optional) if (value !== undefined) (event as unknown as Record<string, unknown>)[key] = value;
  return event;
}
