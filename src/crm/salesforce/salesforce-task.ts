import { CallRecord } from '../../calls/call-record';
import { ActivityPatch, CallLogInput, CrmError, CrmMatch, FollowUpInput } from '../crm-provider';
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
    // The agent's disposition when one was chosen, else what VoipNow says happened.
    CallDisposition: (input.disposition ?? DISPOSITION[r.outcome]).slice(0, 255),
    // With the default key field, CallObject carries the key (CallID and extension); else the bare CallID.
    CallObject: r.callId,
    [keyField]: input.key,
    Status: 'Completed',
    ActivityDate: new Date(r.startedAt).toISOString().slice(0, 10),
    Description: input.description,
  };
  Object.assign(task, relatedTo(match));
  if (input.ownerId) task.OwnerId = input.ownerId;
  return task;
}

/**
 * A Task names a person (Contact, Lead) in WhoId and anything else (Account) in WhatId. With
 * `clear`, the other one is emptied, so a Task moved to another record names only that record (as
 * if it had been logged against it; a Lead's Task cannot have a WhatId anyway).
 */
function relatedTo(match: CrmMatch | undefined, clear = false): Record<string, string | null> {
  if (match?.recordType === 'Contact' || match?.recordType === 'Lead') return clear ? { WhoId: match.id, WhatId: null } : { WhoId: match.id };
  if (match?.recordType === 'Account') return clear ? { WhatId: match.id, WhoId: null } : { WhatId: match.id };
  return {};
}

/** The fields an update of a logged call Task sets (PATCH: absent fields are left alone). */
export function taskPatch(patch: ActivityPatch): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (patch.subject !== undefined) fields.Subject = patch.subject.slice(0, 255);
  if (patch.description !== undefined) fields.Description = patch.description;
  if (patch.disposition !== undefined) fields.CallDisposition = patch.disposition.slice(0, 255);
  if (patch.match) {
    const related = relatedTo(patch.match, true);
    if (Object.keys(related).length === 0) throw new CrmError('permanent', `A Salesforce Task cannot be moved to a ${patch.match.recordType}: only to a Contact, Lead or Account.`);
    Object.assign(fields, related);
  }
  return fields;
}

/** A follow-up Task for a missed call: open, due on `dueAt`'s (UTC) date, carrying its key in `keyField`. */
export function followUpTask(input: FollowUpInput, keyField: string): Record<string, unknown> {
  const task: Record<string, unknown> = {
    Subject: input.subject.slice(0, 255),
    TaskSubtype: 'Task',
    Status: 'Not Started',
    ActivityDate: new Date(input.dueAt).toISOString().slice(0, 10),
    Description: input.description,
    [keyField]: input.key,
    ...relatedTo(input.match),
  };
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
