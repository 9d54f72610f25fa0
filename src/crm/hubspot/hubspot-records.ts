import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/contacts';
import { AssociationSpecAssociationCategoryEnum } from '@hubspot/api-client/lib/codegen/crm/objects/calls';
import { CallRecord } from '../../calls/call-record';
import { CallLogInput, CrmContextItem, CrmMatch, NewContactInput, PhoneQuery } from '../crm-provider';
import type { NewObject } from './hubspot-keyed-objects';

/** Pure translation between the connector's shapes and HubSpot's: no I/O here. */

export const CONTACT_PROPERTIES = [
  'firstname',
  'lastname',
  'email',
  'company',
  'jobtitle',
  'phone',
  'mobilephone',
  'hubspot_owner_id',
  'notes_last_updated',
  'lastmodifieddate',
  'hs_searchable_calculated_phone_number',
  'hs_searchable_calculated_mobile_number',
];
/** HubSpot's documented ceiling on the values of one IN filter. */
export const MAX_IN_VALUES = 100;
/** Call → contact, HubSpot-defined (Associations v4 type ids). */
const CALL_TO_CONTACT = 194;
const STATUS: Record<CallRecord['outcome'], string> = { answered: 'COMPLETED', missed: 'NO_ANSWER', busy: 'BUSY', failed: 'FAILED', cancelled: 'CANCELED', ringing: 'RINGING', talking: 'IN_PROGRESS' };
/** HubSpot's default call outcomes (Connected, No answer, Busy): ids documented as the same in every portal. */
const DISPOSITION: Partial<Record<CallRecord['outcome'], string>> = {
  answered: 'f240bbac-87c9-4f6e-bf70-924b57d47db7',
  missed: '73a0d17f-1163-4015-bdd5-ec830791da20',
  busy: '9d9162e7-6cf3-4944-bf63-4dff82258764',
};

type Properties = Record<string, string | null | undefined>;

/**
 * Every digit form of a number we search for: national, E.164, raw digits, and the E.164 digits
 * after the 00 international prefix (0044 20 7946 0958, as a number dialled from Europe is often stored).
 */
export function digitForms(query: PhoneQuery): string[] {
  return unique([query.national, ...query.forms.map(digitsOf), query.digits, query.e164 ? `00${query.e164.slice(1)}` : undefined]);
}

/**
 * One contacts search for several numbers: the calculated searchable properties (digits without
 * the country code) and the raw phone properties, each an IN filter, OR-ed — 4 of HubSpot's 5
 * filter groups. Callers keep each list within MAX_IN_VALUES.
 */
export function contactFilterGroups(queries: PhoneQuery[]) {
  const digits = unique(queries.flatMap(digitForms));
  const raw = unique(queries.flatMap((q) => [q.e164, q.raw]));
  const inFilter = (propertyName: string, values: string[]) => ({ filters: [{ propertyName, operator: FilterOperatorEnum.In, values }] });
  return [inFilter('hs_searchable_calculated_phone_number', digits), inFilter('hs_searchable_calculated_mobile_number', digits), inFilter('phone', raw), inFilter('mobilephone', raw)];
}

/** Splits queries into groups whose search stays within HubSpot's IN limit. */
export function chunkQueries(queries: PhoneQuery[]): PhoneQuery[][] {
  const chunks: PhoneQuery[][] = [];
  let current: PhoneQuery[] = [];
  let values = 0;
  for (const q of queries) {
    const n = Math.max(digitForms(q).length, 2);
    if (current.length > 0 && values + n > MAX_IN_VALUES) {
      chunks.push(current);
      current = [];
      values = 0;
    }
    current.push(q);
    values += n;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** The phone properties searched, each with HubSpot's calculated digits of it. */
const PHONE_PROPERTIES: [string, string][] = [
  ['phone', 'hs_searchable_calculated_phone_number'],
  ['mobilephone', 'hs_searchable_calculated_mobile_number'],
];

/** The phone property of a contact a search returned that holds this query's number (undefined: none). */
export function propertyHolding(properties: Properties, query: PhoneQuery): string | undefined {
  const wanted = new Set(digitForms(query));
  const raw = new Set(unique([query.e164, query.raw]));
  return PHONE_PROPERTIES.find(([name, calculated]) => {
    const value = properties[name];
    const digits = properties[calculated];
    return (!!value && (raw.has(value) || wanted.has(digitsOf(value)))) || (!!digits && wanted.has(digitsOf(digits)));
  })?.[0];
}

/** Whether a contact returned by a batched search holds this query's number. */
export function contactHoldsNumber(properties: Properties, query: PhoneQuery): boolean {
  return propertyHolding(properties, query) !== undefined;
}

/** Open deals of a contact, newest first: `total` is their count, the first three their names. */
export function openDealsSearch(contactId: string) {
  return {
    filterGroups: [
      {
        filters: [
          { propertyName: 'associations.contact', operator: FilterOperatorEnum.Eq, value: contactId },
          { propertyName: 'hs_is_closed', operator: FilterOperatorEnum.Eq, value: 'false' },
        ],
      },
    ],
    properties: ['dealname'],
    // The SDK types a sort as a string: the property name, with '-' before it for descending.
    sorts: ['-hs_lastmodifieddate'],
    limit: 3,
  };
}

export function dealsContext(total: number, deals: { id: string; properties: Properties }[], portal: { portalId: number; uiDomain: string }): CrmContextItem[] {
  if (total === 0) return [];
  const items = deals.slice(0, 3).map((d) => ({ name: d.properties.dealname || `Deal ${d.id}`, url: `https://${portal.uiDomain}/contacts/${portal.portalId}/record/0-3/${d.id}` }));
  return [{ kind: 'deals', label: 'Open deals', count: total, items }];
}

export function toMatch(connection: string, id: string, p: Properties, portal: { portalId: number; uiDomain: string }, query?: PhoneQuery): CrmMatch {
  const field = query ? (propertyHolding(p, query) ?? PHONE_PROPERTIES.find(([name]) => !!p[name])?.[0]) : undefined;
  const name = [p.firstname, p.lastname].filter(Boolean).join(' ');
  return {
    connection,
    recordType: 'contact',
    id,
    displayName: name || p.email || p.phone || p.mobilephone || `Contact ${id}`,
    company: p.company ?? undefined,
    title: p.jobtitle ?? undefined,
    email: p.email ?? undefined,
    phone: p.phone ?? p.mobilephone ?? undefined,
    ownerId: p.hubspot_owner_id ?? undefined,
    url: `https://${portal.uiDomain}/contacts/${portal.portalId}/record/0-1/${id}`,
    lastActivityAt: p.notes_last_updated ?? p.lastmodifieddate ?? undefined,
    ...(field ? { matchedOn: { object: 'contact', field } } : {}),
  };
}

/** Most recently active first, whatever order the search returned. */
export function rank(matches: CrmMatch[]): CrmMatch[] {
  return matches.sort((a, b) => (b.lastActivityAt ?? '').localeCompare(a.lastActivityAt ?? ''));
}

/** The Call engagement for one call: properties and the association to its contact (the key property is added by the caller). */
export function callEngagement(input: CallLogInput): NewObject {
  const r = input.record;
  const properties: Record<string, string> = {
    hs_timestamp: new Date(r.startedAt).toISOString(),
    hs_call_title: input.subject,
    hs_call_body: input.description,
    hs_call_direction: r.direction === 'inbound' ? 'INBOUND' : 'OUTBOUND',
    hs_call_duration: String((r.talkSeconds ?? 0) * 1000),
    hs_call_status: STATUS[r.outcome],
  };
  // The agent's outcome when one was chosen, else what VoipNow says happened.
  const disposition = input.disposition ?? DISPOSITION[r.outcome];
  if (disposition) properties.hs_call_disposition = disposition;
  const from = r.caller.number ?? r.caller.extension;
  const to = r.callee.number ?? r.callee.did ?? r.callee.extension;
  if (from) properties.hs_call_from_number = from;
  if (to) properties.hs_call_to_number = to;
  if (input.ownerId) properties.hubspot_owner_id = input.ownerId;
  const contact = contactOf(input);
  const associations = contact ? [{ to: { id: contact.id }, types: [{ associationCategory: AssociationSpecAssociationCategoryEnum.HubspotDefined, associationTypeId: CALL_TO_CONTACT }] }] : [];
  return { properties, associations };
}

/** A contact for an unknown caller: the number as VoipNow's caller gave it (E.164 when parsed), the caller ID name, the owner. */
export function newContactProperties(input: NewContactInput): Record<string, string> {
  const properties: Record<string, string> = { phone: input.number };
  // Caller ID names are one string ("J ROE", "ACME CORP"): kept whole rather than split into first and last name.
  if (input.name) properties.lastname = input.name;
  if (input.ownerId) properties.hubspot_owner_id = input.ownerId;
  return properties;
}

/** The contact a call is associated with: HubSpot calls hang off contacts only. */
export function contactOf(input: CallLogInput): CrmMatch | undefined {
  return input.match?.recordType === 'contact' ? input.match : undefined;
}

export function unique(values: (string | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => !!v))];
}

function digitsOf(value: string): string {
  return value.replace(/\D/g, '');
}
