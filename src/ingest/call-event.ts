/**
 * A VoipNow Call Event as the connector keeps it: validated, normalised and stamped on arrival.
 * VoipNow sends no event type (it comes from the URL the admin configured), no timestamps, and
 * marks every parameter optional; this module is the one place that knows its parameter names.
 */

export const EVENT_TYPES = ['dial-in', 'dial-out', 'answer-in', 'answer-out', 'hangup'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

export type CallFlow = 'IN' | 'OUT';

export interface CallEvent {
  /** Stable id of (event type, CallID, extension): the BullMQ job id, so a redelivery is a no-op. */
  id: string;
  type: EventType;
  callId: string;
  callApiId?: string;
  flow: CallFlow;
  /** CallStatus upper-cased: CALLING on Dial-In/Out; ANSWER, BUSY, NOANSWER, ... on Hangup. */
  status?: string;
  /** The extension this event was configured on (extended form `org*ext` when VoipNow sends it). */
  extension: string;
  organisation?: string;
  callerNumber?: string;
  callerName?: string;
  callerExtension?: string;
  calledNumber?: string;
  calledDid?: string;
  calledExtension?: string;
  /** Parameters beyond the documented ones (an admin's own additions, future VoipNow fields). */
  extra: Record<string, string>;
  receivedAt: number;
}

export interface FieldProblem {
  field: string;
  problem: string;
}

export type ParseResult = { ok: true; event: CallEvent; ignored: string[] } | { ok: false; problems: FieldProblem[] };

// Printable characters only: control characters in a CallID or number mean junk, not a call.
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CALL_ID = /^[\x21-\x7e]{1,128}$/;
// Numbers as PBXs send them, including "anonymous"/"restricted" and SIP-ish forms.
const NUMBER = /^[A-Za-z0-9+*#()\-. @_]{1,64}$/;
const EXTENSION = /^\d{1,12}(\*\d{1,12})?$/;
const STATUS = /^[A-Za-z_]{1,32}$/;
const EXTRA_KEY = /^[A-Za-z0-9_.\-[\]]{1,64}$/;
const MAX_NAME = 256;
/**
 * Bidi embeddings, overrides and isolates, directional marks, zero-width characters and the BOM:
 * invisible in a caller-ID name, they can make a card or a CRM record read as another name
 * ("\u202Eevil" shows reversed) or make two names that look the same differ.
 */
const INVISIBLE = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
const MAX_EXTRA_VALUE = 1024;

/** Documented parameters, with the spellings VoipNow uses (KB says CallerIDNam, the Developer Guide CallerIDName). */
const KNOWN = new Set(['CallID', 'CallAPIID', 'CallerIDNum', 'CallerIDNam', 'CallerIDName', 'CalledDID', 'CalledExtension', 'CallStatus', 'CallFlow', 'CallerExtension', 'CalledNumber']);

export interface ParseOptions {
  maxExtraParameters: number;
}

export function parseCallEvent(type: EventType, params: Record<string, unknown>, receivedAt: number, opts: ParseOptions): ParseResult {
  const problems: FieldProblem[] = [];
  const ignored: string[] = [];

  const text = (field: string, pattern: RegExp | null, what: string): string | undefined => {
    const raw = params[field];
    if (raw === undefined || raw === null) return undefined;
    if (Array.isArray(raw)) {
      problems.push({ field, problem: 'given more than once' });
      return undefined;
    }
    if (typeof raw === 'object') {
      problems.push({ field, problem: 'must be a string, not an object' });
      return undefined;
    }
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a form or query value: objects and arrays were refused above
    const value = String(raw).trim();
    if (value === '') return undefined;
    if (pattern ? !pattern.test(value) : CONTROL.test(value) || value.length > MAX_NAME) {
      problems.push({ field, problem: `${what} (got ${describe(value)})` });
      return undefined;
    }
    return value;
  };

  const callId = text('CallID', CALL_ID, 'must be 1-128 printable characters without spaces');
  if (callId === undefined && !problems.some((p) => p.field === 'CallID')) {
    problems.push({ field: 'CallID', problem: 'is required' });
  }
  const numberRule = 'must be a phone number of at most 64 characters (digits, + * # ( ) - . space)';
  const extRule = 'must be an extension number like 0003*210 or 210';
  const callerNumber = text('CallerIDNum', NUMBER, numberRule);
  const nameField = params['CallerIDName'] !== undefined ? 'CallerIDName' : 'CallerIDNam';
  const callerName = text(nameField, null, `must be at most ${MAX_NAME} characters with no control characters`)?.replace(INVISIBLE, '').trim() || undefined;
  const calledDid = text('CalledDID', NUMBER, numberRule);
  const calledNumber = text('CalledNumber', NUMBER, numberRule);
  const calledExtension = text('CalledExtension', EXTENSION, extRule);
  const callerExtension = text('CallerExtension', EXTENSION, extRule);
  const status = text('CallStatus', STATUS, 'must be a word such as ANSWER or BUSY')?.toUpperCase();
  const callApiId = text('CallAPIID', CALL_ID, 'must be 1-128 printable characters without spaces');
  const flowRaw = text('CallFlow', /^(in|out)$/i, 'must be IN or OUT')?.toUpperCase() as CallFlow | undefined;

  const extra: Record<string, string> = {};
  for (const [key, raw] of Object.entries(params)) {
    if (KNOWN.has(key)) continue;
    const value = typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : undefined;
    if (Object.keys(extra).length >= opts.maxExtraParameters || !EXTRA_KEY.test(key) || value === undefined || value.length > MAX_EXTRA_VALUE || CONTROL.test(value)) {
      ignored.push(key.slice(0, 64));
      continue;
    }
    extra[key] = value;
  }

  if (problems.length > 0 || callId === undefined) return { ok: false, problems };

  const flow: CallFlow = flowRaw ?? defaultFlow(type, calledExtension, callerExtension);
  // The event belongs to the extension it was configured on: the called one for calls it receives.
  const extension = (flow === 'IN' ? (calledExtension ?? callerExtension) : (callerExtension ?? calledExtension)) ?? '';
  const organisation = extension.includes('*') ? extension.split('*')[0] : undefined;

  return {
    ok: true,
    ignored,
    event: {
      id: eventId(type, callId, extension),
      type,
      callId,
      callApiId,
      flow,
      status,
      extension,
      organisation,
      callerNumber,
      callerName,
      callerExtension,
      calledNumber,
      calledDid,
      calledExtension,
      extra,
      receivedAt,
    },
  };
}

function defaultFlow(type: EventType, calledExtension?: string, callerExtension?: string): CallFlow {
  if (type === 'dial-in' || type === 'answer-in') return 'IN';
  if (type === 'dial-out' || type === 'answer-out') return 'OUT';
  return calledExtension || !callerExtension ? 'IN' : 'OUT';
}

/**
 * Job ids may not contain ':' (BullMQ 6), and must not collide: every character outside
 * [A-Za-z0-9.] is written as ~HH, which keeps the mapping one-to-one and the id readable.
 */
export function eventId(type: EventType, callId: string, extension: string): string {
  return `${type}-${escapeIdPart(callId)}-${escapeIdPart(extension)}`;
}

export function escapeIdPart(value: string): string {
  return value.replace(/[^A-Za-z0-9.]/g, (c) => `~${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

function describe(value: string): string {
  const shown = value.length > 24 ? `${value.slice(0, 24)}… (${value.length} characters)` : value;
  return JSON.stringify(shown);
}
