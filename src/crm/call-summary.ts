import { CallLeg } from '../calls/call-group';
import { CallRecord } from '../calls/call-record';
import { CrmMatch } from './crm-provider';
import { formatNumber } from './phone';

const OUTCOME_WORDS: Record<CallRecord['outcome'], string> = {
  ringing: 'ringing',
  talking: 'in progress',
  answered: 'answered',
  missed: 'missed',
  busy: 'busy',
  cancelled: 'cancelled',
  failed: 'failed',
};

/** The activity's subject, as a salesperson scanning a timeline reads it. */
export function callSubject(record: CallRecord, match: CrmMatch | undefined, country?: string): string {
  const who = match?.displayName ?? formatNumber(record.remoteNumber, country) ?? 'unknown number';
  const dir = record.direction === 'inbound' ? 'Inbound call from' : 'Outbound call to';
  return `${dir} ${who} (${OUTCOME_WORDS[record.outcome]})`;
}

/** A follow-up task's subject for a missed call. */
export function followUpSubject(record: CallRecord, match: CrmMatch | undefined, country?: string): string {
  return `Call back ${match?.displayName ?? formatNumber(record.remoteNumber, country) ?? 'unknown number'} (missed call)`;
}

/** The agent's notes above the call's details, so a salesperson reads them first. */
export function withNotes(notes: string | undefined, details: string): string {
  const text = notes?.trim();
  return text ? `${text}\n\n— Call details —\n${details}` : details;
}

/** The activity's body: numbers, times and durations, so nothing needs the PBX to be understood. */
export function callDescription(record: CallRecord, country?: string, legs?: CallLeg[]): string {
  const lines = [
    `Direction: ${record.direction}`,
    `Outcome: ${OUTCOME_WORDS[record.outcome]}${record.hangupStatus ? ` (VoipNow ${record.hangupStatus})` : ''}`,
    `From: ${formatNumber(record.caller.number, country) ?? record.caller.extension ?? 'unknown'}${record.caller.name ? ` (${record.caller.name})` : ''}`,
    `To: ${formatNumber(record.callee.number ?? record.callee.did, country) ?? record.callee.extension ?? 'unknown'}`,
    `Extension: ${record.extension}`,
    `Started: ${new Date(record.startedAt).toISOString()}`,
    ...(record.answeredAt ? [`Answered: ${new Date(record.answeredAt).toISOString()}`] : []),
    ...(record.endedAt ? [`Ended: ${new Date(record.endedAt).toISOString()}`] : []),
    ...(record.ringSeconds !== undefined ? [`Ring time: ${record.ringSeconds} s`] : []),
    ...(record.talkSeconds !== undefined ? [`Talk time: ${record.talkSeconds} s`] : []),
    ...(legs && legs.length > 1 ? [`Rang: ${legs.map((l) => `${l.extension} (${l.answeredAt !== undefined ? 'answered' : 'not answered'})`).join(', ')}`] : []),
    `VoipNow CallID: ${record.callId}`,
  ];
  return lines.join('\n');
}
