import { CallRecord } from '../../calls/call-record';
import { CallLogInput, CrmError } from '../crm-provider';
import { classifySalesforceError } from './salesforce-errors';
import { SalesforceHttpError } from './salesforce-transport';

/** Task.CallDisposition is free text (255): the outcome as a salesperson reads it. */
const DISPOSITION: Record<CallRecord['outcome'], string> = {
  answered: 'Answered',
  missed: 'No answer',
  busy: 'Busy',
  cancelled: 'Cancelled',
  failed: 'Failed',
  ringing: 'Ringing',
  talking: 'In progress',
};

/** The call as a completed call Task, carrying its idempotency key in `keyField`. */
export function callTask(input: CallLogInput, keyField: string): Record<string, unknown> {
  const r = input.record;
  const match = input.match;
  const task: Record<string, unknown> = {
    Subject: input.subject.slice(0, 255),
    TaskSubtype: 'Call',
    CallType: r.direction === 'inbound' ? 'Inbound' : 'Outbound',
    CallDurationInSeconds: r.talkSeconds ?? 0,
    CallDisposition: DISPOSITION[r.outcome],
    // With the default key field, CallObject carries the key (CallID and extension); else the bare CallID.
    CallObject: r.callId,
    [keyField]: input.key,
    Status: 'Completed',
    ActivityDate: new Date(r.startedAt).toISOString().slice(0, 10),
    Description: input.description,
  };
  // A Task names a person (Contact, Lead) in WhoId and anything else (Account) in WhatId.
  if (match?.recordType === 'Contact' || match?.recordType === 'Lead') task.WhoId = match.id;
  else if (match?.recordType === 'Account') task.WhatId = match.id;
  if (input.ownerId) task.OwnerId = input.ownerId;
  return task;
}

/**
 * A record refused inside an sObject Collections answer ({statusCode, message, fields}), classified
 * like the same error of a single request.
 */
export function recordError(errors: { statusCode?: string; errorCode?: string; message?: string; fields?: string[] }[] | undefined): CrmError {
  const body = (errors ?? []).map((e) => ({ message: e.message, errorCode: e.statusCode ?? e.errorCode, fields: e.fields }));
  return classifySalesforceError(new SalesforceHttpError(400, {}, body.length ? body : [{ message: 'record refused without a reason', errorCode: 'UNKNOWN' }]));
}
