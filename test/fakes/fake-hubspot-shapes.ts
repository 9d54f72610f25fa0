import { randomBytes } from 'node:crypto';
import { digitsOf, FakeResponse } from './fake-server';

/** The fake HubSpot's objects and the shapes of HubSpot's answers (see fake-hubspot.ts). */
export interface HsObject {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  associations?: { to: { id: string }; types: { associationCategory: string; associationTypeId: number }[] }[];
  /** When search finds it (HubSpot indexes new objects asynchronously). */
  searchableAt?: number;
}

export type ObjectType = 'calls' | 'contacts' | 'tasks';

/** HubSpot fills hs_searchable_calculated_* with the digits of the number without its country code. */
export function calculated(p: Record<string, string>): Record<string, string> {
  const national = (n?: string) => {
    if (!n) return undefined;
    const d = digitsOf(n);
    return n.trim().startsWith('+') && d.startsWith('1') && d.length === 11 ? d.slice(1) : d;
  };
  const out: Record<string, string> = {};
  const phone = national(p.phone);
  const mobile = national(p.mobilephone);
  if (phone) out.hs_searchable_calculated_phone_number = phone;
  if (mobile) out.hs_searchable_calculated_mobile_number = mobile;
  return out;
}

export function view(o: HsObject, props?: string[]) {
  const properties = props ? Object.fromEntries(['hs_object_id', ...props].map((k) => [k, o.properties[k] ?? null])) : o.properties;
  return { id: o.id, properties, createdAt: o.createdAt, updatedAt: o.updatedAt, archived: false };
}

/** Properties every portal has besides the hs_* ones (which are all accepted). */
export const BUILT_IN: Record<ObjectType, Set<string>> = {
  calls: new Set(),
  tasks: new Set(),
  contacts: new Set(['firstname', 'lastname', 'email', 'company', 'jobtitle', 'phone', 'mobilephone', 'lifecyclestage', 'notes_last_updated', 'lastmodifieddate', 'createdate']),
};

/**
 * HubSpot's answer to a create that would give a unique property a value another object holds: it
 * names the id it had allocated for the new object, then the id of the one holding the value.
 */
export function uniqueConflict(portalId: number, type: ObjectType, propertyName: string, value: string, newId: string, existingId: string): FakeResponse {
  const objectTypeId = { calls: '0-48', contacts: '0-1', tasks: '0-27' }[type];
  return {
    status: 400,
    body: {
      status: 'error',
      message: `Cannot set PropertyValueCoordinates{portalId=${portalId}, objectTypeId=${objectTypeId}, propertyName=${propertyName}, value=${value}} on ${newId}. ${existingId} already has that value.`,
      correlationId: cid(),
      category: 'VALIDATION_ERROR',
      errorType: 'UNIQUE_VALUE_CONFLICT',
      errorTokens: { objectTypeId: [objectTypeId], propertyName: [propertyName], portalId: [String(portalId)], existingObjectId: [existingId], conflictingValue: [value], objectId: [newId] },
    },
  };
}

export function property(name: string, unique: boolean) {
  return {
    name,
    label: name,
    type: 'string',
    fieldType: 'text',
    groupName: 'callinformation',
    hasUniqueValue: unique,
    hidden: false,
    formField: false,
    calculated: false,
    externalOptions: false,
    options: [],
    modificationMetadata: { archivable: true, readOnlyDefinition: false, readOnlyValue: false },
  };
}

export function notFound(message: string): FakeResponse {
  return { status: 404, body: { status: 'error', message, correlationId: cid(), category: 'OBJECT_NOT_FOUND' } };
}

export function cid() {
  return randomBytes(8).toString('hex');
}
