import { CallRecord } from '../calls/call-record';
import { maskNumber } from '../logging/logger';

export type ShownCall = Omit<CallRecord, 'extra'> & { extra?: Record<string, string> };

/**
 * A call record as the admin API shows it: numbers masked like the logs (`**********567`) unless
 * the deployment allows full numbers (ADMIN_FULL_NUMBERS); the extra parameters, which may hold
 * anything VoipNow or an admin added to the URL, only with full numbers.
 */
export function shownCall<T extends CallRecord>(record: T, fullNumbers: boolean): Omit<T, 'extra'> & { extra?: Record<string, string> } {
  if (fullNumbers) return record;
  const { extra: _extra, ...rest } = record;
  const mask = (p: CallRecord['caller']) => ({ ...p, number: maskNumber(p.number), did: maskNumber(p.did) });
  return { ...rest, caller: mask(record.caller), callee: mask(record.callee), remoteNumber: maskNumber(record.remoteNumber) };
}
