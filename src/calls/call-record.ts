import { CallEvent, EventType } from '../ingest/call-event';

export type CallDirection = 'inbound' | 'outbound';
/** ringing/talking while the call is live; the rest once a Hangup has arrived. */
export type CallOutcome = 'ringing' | 'talking' | 'answered' | 'missed' | 'busy' | 'cancelled' | 'failed';

export interface CallParty {
  number?: string;
  name?: string;
  extension?: string;
  did?: string;
}

/** One call as seen by one extension: every event of (CallID, extension) folded together. */
export interface CallRecord {
  callId: string;
  callApiId?: string;
  extension: string;
  organisation?: string;
  direction: CallDirection;
  caller: CallParty;
  callee: CallParty;
  /** The number on the far side from the extension: what a CRM lookup searches for. */
  remoteNumber?: string;
  startedAt: number;
  answeredAt?: number;
  endedAt?: number;
  ringSeconds?: number;
  talkSeconds?: number;
  outcome: CallOutcome;
  /** Hangup CallStatus as VoipNow sent it, kept even when it is a value we do not know. */
  hangupStatus?: string;
  events: { type: EventType; at: number }[];
  extra: Record<string, string>;
}

const HANGUP_OUTCOME: Partial<Record<string, (d: CallDirection) => CallOutcome>> = {
  ANSWER: () => 'answered',
  ANSWERED: () => 'answered',
  BUSY: () => 'busy',
  NOANSWER: () => 'missed',
  // The caller gave up before anyone answered: missed for the agent who was rung, cancelled for one who dialled.
  CANCEL: (d) => (d === 'inbound' ? 'missed' : 'cancelled'),
  CONGESTION: () => 'failed',
  CHANUNAVAIL: () => 'failed',
};

/**
 * Folds events into a record. Pure and order-independent: events are keyed by type and carry
 * their arrival time, so duplicates and out-of-order arrival give the same record.
 */
export function foldCallRecord(events: Partial<Record<EventType, CallEvent>>): CallRecord | undefined {
  const all = Object.values<CallEvent | undefined>(events)
    .filter((e): e is CallEvent => e !== undefined)
    .sort((a, b) => a.receivedAt - b.receivedAt);
  if (all.length === 0) return undefined;
  const first = all[0];
  const pick = <K extends keyof CallEvent>(key: K): CallEvent[K] | undefined => all.find((e) => e[key] !== undefined)?.[key];

  const direction: CallDirection = (events['dial-in'] ?? events['dial-out'] ?? events['answer-in'] ?? events['answer-out'] ?? first).flow === 'OUT' ? 'outbound' : 'inbound';
  const dial = events['dial-in'] ?? events['dial-out'];
  const answer = events['answer-in'] ?? events['answer-out'];
  const hangup = events.hangup;

  const startedAt = dial?.receivedAt ?? first.receivedAt;
  const answeredAt = answer?.receivedAt;
  const endedAt = hangup?.receivedAt;
  const hangupStatus = hangup?.status;

  let outcome: CallOutcome;
  if (!hangup) outcome = answer ? 'talking' : 'ringing';
  else if (answer) outcome = 'answered';
  else outcome = HANGUP_OUTCOME[hangupStatus ?? '']?.(direction) ?? 'missed';

  const caller: CallParty = {
    number: pick('callerNumber'),
    name: pick('callerName'),
    extension: pick('callerExtension'),
  };
  const callee: CallParty = {
    number: pick('calledNumber'),
    did: pick('calledDid'),
    extension: pick('calledExtension'),
  };

  const extra: Record<string, string> = {};
  for (const e of all) Object.assign(extra, e.extra);

  return {
    callId: first.callId,
    callApiId: pick('callApiId'),
    extension: first.extension,
    organisation: first.organisation,
    direction,
    caller,
    callee,
    remoteNumber: direction === 'inbound' ? caller.number : (callee.number ?? callee.did),
    startedAt,
    answeredAt,
    endedAt,
    // Ring time needs the moment ringing began; without a Dial-In it is unknown, not zero.
    ringSeconds: dial ? seconds(startedAt, answeredAt ?? endedAt) : undefined,
    // A Hangup that overtook its Answer leaves the talk time unknown rather than negative.
    talkSeconds: answeredAt !== undefined ? seconds(answeredAt, endedAt) : undefined,
    outcome,
    hangupStatus,
    events: all.map((e) => ({ type: e.type, at: e.receivedAt })),
    extra,
  };
}

function seconds(from: number, to: number | undefined): number | undefined {
  if (to === undefined || to < from) return undefined;
  return Math.round((to - from) / 1000);
}
