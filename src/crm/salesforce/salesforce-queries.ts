import { PhoneQuery } from '../crm-provider';

/** Search result order: a Contact is who is calling, a Lead may be, an Account is only where. */
export const RECORD_RANK: Record<string, number> = { Contact: 0, Lead: 1, Account: 2 };

const COMMON = 'Id, Name, Phone, OwnerId, Owner.Name, LastActivityDate, LastModifiedDate';
/** Per object, at most this many records: a screen pop shows a handful, not a list. */
const PER_OBJECT = 10;

/**
 * SOSL over phone fields, the number's forms OR-ed. Salesforce compares the digits of phone
 * fields, so (555) 123-4567 is found by 5551234567; the E.164 form finds +1 555 123 4567.
 * Converted leads are left out: their Contact is the record to show.
 */
export function phoneSearch(query: PhoneQuery): string {
  const terms = [...new Set(query.forms)].map(soslEscape).join(' OR ');
  return (
    `FIND {${terms}} IN PHONE FIELDS RETURNING ` +
    `Contact(${COMMON}, Account.Name, Title, Email, MobilePhone LIMIT ${PER_OBJECT}), ` +
    `Lead(${COMMON}, Company, Title, Email, MobilePhone WHERE IsConverted = false LIMIT ${PER_OBJECT}), ` +
    `Account(${COMMON} LIMIT ${PER_OBJECT})`
  );
}

/** SOSL reserved characters, backslash-escaped inside FIND {...}: ? & | ! { } [ ] ( ) ^ ~ * : \ " ' + - */
export function soslEscape(term: string): string {
  return term.replace(/[?&|!{}[\]()^~*:\\"'+-]/g, (c) => `\\${c}`);
}

/** A SOQL string literal: quotes and backslashes escaped, so a value can never end the literal. */
export function soqlString(value: string): string {
  const escaped = value.replace(/[\\'"\n\r\t\b\f]/g, (c) => ({ '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' })[c] ?? `\\${c}`);
  return `'${escaped}'`;
}
