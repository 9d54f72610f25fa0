import { AssociationSpecAssociationCategoryEnum } from '@hubspot/api-client/lib/codegen/crm/associations/v4/models/AssociationSpec';
import { ActivityPatch, CrmError, CrmMatch, FollowUpInput } from '../crm-provider';
import { Disposition } from '../provider-definition';
import { NewObject } from './hubspot-keyed-objects';

/** Pure translation of the desk's writes (updates, follow-up tasks) into HubSpot's shapes: no I/O here. */

/**
 * HubSpot's default call outcomes: `hs_call_disposition` takes the outcome's id, and these six
 * ids are the same in every portal. Outcomes a portal adds have their own ids
 * (GET /calling/v1/dispositions lists them); name those in the connection's `dispositions`.
 */
export const HUBSPOT_DEFAULT_DISPOSITIONS: Disposition[] = [
  { key: 'connected', label: 'Connected', value: 'f240bbac-87c9-4f6e-bf70-924b57d47db7' },
  { key: 'left-voicemail', label: 'Left voicemail', value: 'b2cf5968-551e-4856-9783-52b3da59a7d0' },
  { key: 'left-live-message', label: 'Left live message', value: 'a4c4c377-d246-4b32-a13b-75a56a4cd0ff' },
  { key: 'no-answer', label: 'No answer', value: '73a0d17f-1163-4015-bdd5-ec830791da20' },
  { key: 'busy', label: 'Busy', value: '9d9162e7-6cf3-4944-bf63-4dff82258764' },
  { key: 'wrong-number', label: 'Wrong number', value: '17b47fee-58de-441e-a44c-c6300d46f273' },
];

/** Where a call or task is attached for each kind of record, with HubSpot's own (v4) association type ids. */
const ATTACHMENT: Partial<Record<string, { objectType: 'contacts' | 'companies'; calls: number; tasks: number }>> = {
  contact: { objectType: 'contacts', calls: 194, tasks: 204 },
  company: { objectType: 'companies', calls: 182, tasks: 192 },
};

/** The object type and association type that attach a call or task to this record. */
export function attachmentTo(
  from: 'calls' | 'tasks',
  match: CrmMatch,
): { objectType: 'contacts' | 'companies'; spec: { associationCategory: AssociationSpecAssociationCategoryEnum; associationTypeId: number } } {
  const a = ATTACHMENT[match.recordType];
  if (!a) throw new CrmError('permanent', `A HubSpot ${from === 'calls' ? 'call' : 'task'} cannot be attached to a ${match.recordType}: only to a contact or a company.`);
  return { objectType: a.objectType, spec: { associationCategory: AssociationSpecAssociationCategoryEnum.HubspotDefined, associationTypeId: a[from] } };
}

/** The call properties an update sets (PATCH: absent ones are left alone). */
export function callPatchProperties(patch: ActivityPatch): Record<string, string> {
  const properties: Record<string, string> = {};
  if (patch.subject !== undefined) properties.hs_call_title = patch.subject;
  if (patch.description !== undefined) properties.hs_call_body = patch.description;
  if (patch.disposition !== undefined) properties.hs_call_disposition = patch.disposition;
  return properties;
}

/** A follow-up task: a call to make, not started, due at `dueAt`, attached to the caller's record (the key property is added by the caller). */
export function followUpTask(input: FollowUpInput): NewObject {
  const properties: Record<string, string> = {
    hs_timestamp: new Date(input.dueAt).toISOString(),
    hs_task_subject: input.subject,
    hs_task_body: input.description,
    hs_task_status: 'NOT_STARTED',
    hs_task_type: 'CALL',
  };
  if (input.ownerId) properties.hubspot_owner_id = input.ownerId;
  // A record a task cannot hang off (none today) leaves the task unattached rather than lost.
  const associations = input.match && ATTACHMENT[input.match.recordType] ? [{ to: { id: input.match.id }, types: [attachmentTo('tasks', input.match).spec] }] : [];
  return { properties, associations };
}
