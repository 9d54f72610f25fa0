import { PhoneQuery } from '../crm-provider';

/** Search result order: a Contact is who is calling, a Lead may be, an Account is only where. */
export const RECORD_RANK: Record<string, number> = { Contact: 0, Lead: 1, Account: 2 };

const COMMON = 'Id, Name, Phone, OwnerId, Owner.Name, LastActivityDate, LastModifiedDate';
/** Per object and number, at most this many records: a screen pop shows a handful, not a list. */
const PER_OBJECT = 10;
const PHONE_FIELDS_OF = { Contact: ['Phone', 'MobilePhone', 'HomePhone', 'OtherPhone'], Lead: ['Phone', 'MobilePhone'], Account: ['Phone', 'Fax'] };
/**
 * Every standard phone field SOSL searches (IN PHONE FIELDS), so a batched result can be traced back to its number.
 * Looked up by the type Salesforce names on a record: one not listed has none.
 */
export const PHONE_FIELDS: Partial<Record<string, string[]>> = PHONE_FIELDS_OF;
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
 * Every phone field the search looks in is returned, whatever the number of numbers: a record is
 * traced back to its number (batches) and to the field that holds it (matchedOn) from them.
 */
export function phoneSearch(queries: PhoneQuery | PhoneQuery[]): string {
  const list = [queries].flat();
  const limit = PER_OBJECT * list.length;
  const phones = (type: keyof typeof PHONE_FIELDS_OF) => PHONE_FIELDS_OF[type].filter((f) => f !== 'Phone').join(', ');
  return (
    `FIND {${searchTerms(list)}} IN PHONE FIELDS RETURNING ` +
    `Contact(${COMMON}, AccountId, Account.Name, Title, Email, ${phones('Contact')} LIMIT ${limit}), ` +
    `Lead(${COMMON}, Company, Title, Email, ${phones('Lead')} WHERE IsConverted = false LIMIT ${limit}), ` +
    `Account(${COMMON}, ${phones('Account')} LIMIT ${limit})`
  );
}

/**
 * The terms searched for a number: its forms, and its digits after the 00 international prefix
 * (0044 20 7946 0958 is how a number dialled from Europe is often stored, and SOSL compares all of
 * its digits).
 */
export function searchForms(query: PhoneQuery): string[] {
  const withPrefix = query.e164 ? `00${query.e164.slice(1)}` : undefined;
  return [...new Set([...query.forms, ...(withPrefix ? [withPrefix] : [])])];
}

function searchTerms(queries: PhoneQuery[]): string {
  return [...new Set(queries.flatMap(searchForms))].map(soslEscape).join(' OR ');
}

/**
 * One SOQL for what the card shows beside the matches: each Account's open opportunities and open
 * cases (a Contact's are its Account's), newest first. A child subquery's `totalSize` is its count;
 * the first records are the names shown.
 */
export function contextQuery(accountIds: string[]): string {
  return (
    'SELECT Id, ' +
    '(SELECT Id, Name FROM Opportunities WHERE IsClosed = false ORDER BY LastModifiedDate DESC), ' +
    '(SELECT Id, CaseNumber, Subject FROM Cases WHERE IsClosed = false ORDER BY LastModifiedDate DESC) ' +
    `FROM Account WHERE Id IN (${accountIds.map(soqlString).join(', ')})`
  );
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
 * The phone field of a record that holds this query's number, compared as digits like Salesforce
 * does: one of the number's forms, or a stored value that contains its national number (a trunk or
 * country prefix, an extension after it). Undefined when none does.
 */
export function phoneFieldHolding(record: Record<string, unknown>, type: string, query: PhoneQuery): string | undefined {
  const wanted = new Set([query.national, query.digits, ...searchForms(query).map(digitsOf)].filter((d): d is string => !!d));
  const national = query.national && query.national.length >= 7 ? query.national : undefined;
  return (PHONE_FIELDS[type] ?? ['Phone']).find((f) => {
    const held = typeof record[f] === 'string' ? digitsOf(record[f]) : '';
    return held !== '' && (wanted.has(held) || (!!national && held.includes(national)));
  });
}

/** Whether a record a batched search returned holds this query's number in one of its phone fields. */
export function recordHoldsNumber(record: Record<string, unknown>, type: string, query: PhoneQuery): boolean {
  return phoneFieldHolding(record, type, query) !== undefined;
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
