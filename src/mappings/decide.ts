import { CallRecord } from '../calls/call-record';
import { PhoneQuery } from '../crm/crm-provider';
import { isInternalNumber, phoneQuery } from '../crm/phone';
import { ResolvedMapping } from './resolve-mapping';

export type Decision = { yes: true } | { yes: false; reason: string };
type No = { yes: false; reason: string };

/** Yes to a lookup: on which connection, and the number parsed for searching. */
export type LookupDecision = { yes: true; connection: string; query: PhoneQuery } | No;
/** Yes to a log: on which connection. */
export type LogDecision = { yes: true; connection: string } | No;

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

/**
 * Is the remote party looked up in the CRM? `parsed` is a query already parsed for a number (the
 * screen pop parses the event's number before the record is read): reused when it is the record's.
 */
export function shouldLookUp(record: CallRecord, mapping: ResolvedMapping, parsed?: { number: string; query: PhoneQuery }): LookupDecision {
  const { connection } = mapping;
  if (!connection) return { yes: false, reason: 'extension not mapped to a CRM connection' };
  if (mapping.actions.skipInternal && isInternalCall(record)) return { yes: false, reason: 'internal call' };
  if (!record.remoteNumber) return { yes: false, reason: 'no caller number (anonymous)' };
  const query = parsed && parsed.number === record.remoteNumber ? parsed.query : phoneQuery(record.remoteNumber, mapping.country);
  if (!query) return { yes: false, reason: 'not a phone number' };
  return { yes: true, connection, query };
}

/** Is the finished call written to the CRM? */
export function shouldLog(record: CallRecord, mapping: ResolvedMapping): LogDecision {
  const { connection, actions } = mapping;
  if (!connection) return { yes: false, reason: 'extension not mapped to a CRM connection' };
  if (record.outcome === 'ringing' || record.outcome === 'talking') return { yes: false, reason: 'call has not ended' };
  if (actions.skipInternal && isInternalCall(record)) return { yes: false, reason: 'internal call' };
  if (record.direction === 'outbound') return actions.logOutbound ? { yes: true, connection } : { yes: false, reason: 'logOutbound is off' };
  if (record.outcome === 'answered') return actions.logAnswered ? { yes: true, connection } : { yes: false, reason: 'logAnswered is off' };
  return actions.logMissed ? { yes: true, connection } : { yes: false, reason: 'logMissed is off' };
}
