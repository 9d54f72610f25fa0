import { PhoneQuery } from '../crm-provider';

/** Search result order: a Contact is who is calling, a Lead may be, an Account is only where. */
export const RECORD_RANK: Record<string, number> = { Contact: 0, Lead: 1, Account: 2 };

const COMMON = 'Id, Name, Phone, OwnerId, Owner.Name, LastActivityDate, LastModifiedDate';
/** Per object and number, at most this many records: a screen pop shows a handful, not a list. */
const PER_OBJECT = 10;
/** Every standard phone field SOSL searches (IN PHONE FIELDS), so a batched result can be traced back to its number. */
export const PHONE_FIELDS: Record<string, string[]> = { Contact: ['Phone', 'MobilePhone', 'HomePhone', 'OtherPhone'], Lead: ['Phone', 'MobilePhone'], Account: ['Phone', 'Fax'] };
/**
 * Salesforce drops the logical operators of a FIND {…} longer than 4,000 characters (and returns
 * nothing past 10,000): a batched search keeps its terms below that, with room for the braces.
 */
export const MAX_SEARCH_CHARS = 3900;
/** Numbers per batched search: with PER_OBJECT each, the three objects stay within SOSL's 2,000 rows. */
export const MAX_NUMBERS_PER_SEARCH = 60;

/**
 * SOSL over phone fields, the numbers' forms OR-ed (one number for a pop, several for a batch).
 * Salesforce compares the digits of phone fields, so (555) 123-4567 is found by 5551234567; the
 * E.164 form finds +1 555 123 4567. Converted leads are left out: their Contact is the record to show.
 */
export function phoneSearch(queries: PhoneQuery | PhoneQuery[]): string {
  const list = [queries].flat();
  const limit = PER_OBJECT * list.length;
  return (
    `FIND {${searchTerms(list)}} IN PHONE FIELDS RETURNING ` +
    `Contact(${COMMON}, Account.Name, Title, Email, MobilePhone${list.length > 1 ? ', HomePhone, OtherPhone' : ''} LIMIT ${limit}), ` +
    `Lead(${COMMON}, Company, Title, Email, MobilePhone WHERE IsConverted = false LIMIT ${limit}), ` +
    `Account(${COMMON}${list.length > 1 ? ', Fax' : ''} LIMIT ${limit})`
  );
}

function searchTerms(queries: PhoneQuery[]): string {
  return [...new Set(queries.flatMap((q) => q.forms))].map(soslEscape).join(' OR ');
}

/** Splits a batch into searches whose FIND {…} stays within MAX_SEARCH_CHARS and MAX_NUMBERS_PER_SEARCH. */
export function chunkPhoneQueries(queries: PhoneQuery[]): PhoneQuery[][] {
  const chunks: PhoneQuery[][] = [];
  let current: PhoneQuery[] = [];
  for (const q of queries) {
    const next = [...current, q];
    if (current.length > 0 && (next.length > MAX_NUMBERS_PER_SEARCH || searchTerms(next).length > MAX_SEARCH_CHARS)) {
      chunks.push(current);
      current = [q];
    } else current = next;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Whether a record a batched search returned holds this query's number in one of its phone fields,
 * compared as digits like Salesforce does: one of the number's forms, or a stored value that
 * contains its national number (a trunk or country prefix, an extension after it).
 */
export function recordHoldsNumber(record: Record<string, unknown>, type: string, query: PhoneQuery): boolean {
  const wanted = new Set([query.national, query.digits, ...query.forms.map(digitsOf)].filter((d): d is string => !!d));
  const national = query.national && query.national.length >= 7 ? query.national : undefined;
  return (PHONE_FIELDS[type] ?? ['Phone']).some((f) => {
    const held = typeof record[f] === 'string' ? digitsOf(record[f] as string) : '';
    return held !== '' && (wanted.has(held) || (!!national && held.includes(national)));
  });
}

function digitsOf(value: string): string {
  return value.replace(/\D/g, '');
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
