import { NewContactInput } from '../crm-provider';
import { soqlString } from './salesforce-queries';

const LEAD_FIELDS = 'Id, Name, Phone, MobilePhone, Company, Title, Email, OwnerId, Owner.Name, LastActivityDate, LastModifiedDate';

/**
 * The Lead for an unknown caller. A Lead rather than a Contact because a Contact belongs to an
 * Account the connector cannot know; Salesforce requires a Lead's Company, so it gets a
 * placeholder (`newLeadCompany`) the salesperson replaces. The caller ID name is one string
 * ("J ROE", "ACME CORP"), kept whole as LastName (required); without one the number is the name.
 */
export function newLead(input: NewContactInput, company: string): Record<string, unknown> {
  const lead: Record<string, unknown> = {
    LastName: (input.name || input.number).slice(0, 80),
    Company: company.slice(0, 255),
    Phone: input.number.slice(0, 40),
    Description: `Created by the VoipNow connector for an unknown caller (call ${input.key}).`,
  };
  if (input.ownerId) lead.OwnerId = input.ownerId;
  return lead;
}

/**
 * The open Lead whose Phone is exactly this number: the one an earlier attempt created (its
 * answer lost), or another call's. SOQL reads committed records at once, unlike SOSL, whose index
 * lags new records.
 */
export function leadByPhone(number: string): string {
  return `SELECT ${LEAD_FIELDS} FROM Lead WHERE Phone = ${soqlString(number)} AND IsConverted = false LIMIT 1`;
}
