import { CallRecord } from '../calls/call-record';
import { isInternalNumber } from '../crm/phone';
import { ResolvedMapping } from './resolve-mapping';

export type Decision = { yes: true } | { yes: false; reason: string };

/** An extension-to-extension call: the far side is an extension, not a CRM contact. */
export function isInternalCall(record: CallRecord): boolean {
  const remote = record.remoteNumber;
  if (remote && isInternalNumber(remote)) return true;
  return record.direction === 'inbound' ? !!record.caller.extension && !remote : !!record.callee.extension && !remote;
}

/** Does the agent's page get updates for this call at all? */
export function shouldPop(record: CallRecord, mapping: ResolvedMapping): Decision {
  if (record.direction === 'inbound' && !mapping.actions.popOnDialIn) return { yes: false, reason: 'popOnDialIn is off for this extension' };
  if (record.direction === 'outbound' && !mapping.actions.popOnDialOut) return { yes: false, reason: 'popOnDialOut is off for this extension' };
  return { yes: true };
}

/** Is the remote party looked up in the CRM? */
export function shouldLookUp(record: CallRecord, mapping: ResolvedMapping): Decision {
  if (!mapping.connection) return { yes: false, reason: 'extension not mapped to a CRM connection' };
  if (mapping.actions.skipInternal && isInternalCall(record)) return { yes: false, reason: 'internal call' };
  if (!record.remoteNumber) return { yes: false, reason: 'no caller number (anonymous)' };
  return { yes: true };
}

/** Is the finished call written to the CRM? */
export function shouldLog(record: CallRecord, mapping: ResolvedMapping): Decision {
  if (!mapping.connection) return { yes: false, reason: 'extension not mapped to a CRM connection' };
  if (record.outcome === 'ringing' || record.outcome === 'talking') return { yes: false, reason: 'call has not ended' };
  if (mapping.actions.skipInternal && isInternalCall(record)) return { yes: false, reason: 'internal call' };
  const { actions } = mapping;
  if (record.direction === 'outbound') return actions.logOutbound ? { yes: true } : { yes: false, reason: 'logOutbound is off' };
  if (record.outcome === 'answered') return actions.logAnswered ? { yes: true } : { yes: false, reason: 'logAnswered is off' };
  return actions.logMissed ? { yes: true } : { yes: false, reason: 'logMissed is off' };
}
