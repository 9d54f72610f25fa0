import { CallRecord } from './call-record';

/** One extension's part in a customer call, as the activity's description lists it. */
export interface CallLeg {
  extension: string;
  outcome: CallRecord['outcome'];
  answeredAt?: number;
  endedAt?: number;
  talkSeconds?: number;
}

/** A customer call: the records of every extension it rang with the same CallID, folded into one. */
export interface CustomerCall {
  /** The whole call as one record: its `extension` is the owner's. */
  record: CallRecord;
  /** The extension whose mapping owns the activity: the first to answer; if nobody did, the first rung. */
  owner: string;
  legs: CallLeg[];
}

const LIVE: ReadonlySet<CallRecord['outcome']> = new Set(['ringing', 'talking']);

export function isLive(record: CallRecord): boolean {
  return LIVE.has(record.outcome);
}

/**
 * Folds the legs of one CallID (ring group members, queue agents, transfer targets) into the
 * call a salesperson sees: answered if anyone answered, owned by the first extension that did
 * (the first rung, ties by extension number, when nobody did); rang from the first Dial-In to the
 * first answer; talked from the first answer to the last Hangup, so a transfer's talk time covers
 * both agents. The owner's record supplies direction, parties and the Hangup status.
 */
export function mergeLegs(records: CallRecord[]): CustomerCall {
  if (records.length === 0) throw new Error('mergeLegs needs at least one record');
  const byRing = [...records].sort((a, b) => a.startedAt - b.startedAt || a.extension.localeCompare(b.extension));
  // A leg's Hangup says ANSWER even where VoipNow is not set up to send Answer events.
  const tookIt = (r: CallRecord) => r.answeredAt !== undefined || r.outcome === 'answered' || r.outcome === 'talking';
  const when = (r: CallRecord) => r.answeredAt ?? r.endedAt ?? Number.MAX_SAFE_INTEGER;
  const answered = byRing.filter(tookIt).sort((a, b) => when(a) - when(b) || a.extension.localeCompare(b.extension));
  const owner = answered[0] ?? byRing[0];
  const startedAt = byRing[0].startedAt;
  const ends = records.map((r) => r.endedAt).filter((t): t is number => t !== undefined);
  const endedAt = ends.length === records.length ? Math.max(...ends) : undefined;
  const answeredAt = owner.answeredAt;
  const extra: Record<string, string> = {};
  for (const r of byRing) Object.assign(extra, r.extra);
  const record: CallRecord = {
    ...owner,
    startedAt,
    answeredAt,
    endedAt,
    ringSeconds: seconds(startedAt, answeredAt ?? endedAt),
    talkSeconds: answeredAt !== undefined ? seconds(answeredAt, endedAt) : undefined,
    outcome: answered.length > 0 ? (records.some(isLive) ? 'talking' : 'answered') : records.some(isLive) ? 'ringing' : owner.outcome,
    events: byRing.flatMap((r) => r.events).sort((a, b) => a.at - b.at),
    extra,
  };
  return {
    record,
    owner: owner.extension,
    legs: byRing.map((r) => ({ extension: r.extension, outcome: r.outcome, answeredAt: r.answeredAt, endedAt: r.endedAt, talkSeconds: r.talkSeconds })),
  };
}

function seconds(from: number, to: number | undefined): number | undefined {
  if (to === undefined || to < from) return undefined;
  return Math.round((to - from) / 1000);
}
