import { CallRecord } from '../calls/call-record';

/**
 * The only seam through which the connector talks to a CRM. Every CRM (Salesforce, HubSpot, the
 * file provider, the next one) implements these methods; nothing outside `src/crm/<type>/`
 * knows a vendor's object or field names.
 */
export interface CrmProvider {
  /** Provider type from config (`salesforce`, `hubspot`, `file`). */
  readonly type: string;
  /** Connection name from config (`sf-eu`); several connections of one type may exist. */
  readonly connection: string;

  /**
   * Records whose phone fields hold this number, best first (Salesforce: Contact, Lead, Account;
   * then most recently active). Must honour `signal`: a screen pop cannot wait for SDK back-off.
   */
  findContactsByPhone(query: PhoneQuery, opts?: { signal?: AbortSignal }): Promise<CrmMatch[]>;

  /**
   * Creates the call activity (Salesforce Task, HubSpot Call) once per `input.key`, even when
   * called again after a time-out or crash where the CRM did create it: implementations look for
   * an activity carrying the key before creating one, and return it (`created: false`).
   */
  logCall(input: CallLogInput): Promise<LoggedActivity>;

  /**
   * Optional batched forms, for throughput under load (one request for up to `maxBatch` items):
   * HubSpot's calls/batch/create and IN-filtered searches, Salesforce's sObject Collections.
   * One result per input, in input order; an input that failed on its own gets its CrmError
   * (the others still succeed); a failure of the whole request throws.
   */
  readonly maxBatch?: number;
  findContactsByPhones?(queries: PhoneQuery[]): Promise<CrmMatch[][]>;
  logCalls?(inputs: CallLogInput[]): Promise<(LoggedActivity | CrmError)[]>;

  /** Can we authenticate and reach the API? Used by readiness and the admin API. */
  health(): Promise<CrmHealth>;

  /** Link to create a new record for an unknown caller, when the CRM has such a page. */
  newContactUrl?(number: string): string | undefined;

  /** Resolves a CRM user id from an e-mail address (mapping `owner: {email}`), once per process. */
  findUserIdByEmail?(email: string): Promise<string | undefined>;

  /**
   * Creates a record for an unknown caller (mapping `unknownCaller: create-contact`; a Lead in
   * Salesforce, a contact in HubSpot), once per `input.key`: called again with the same key after
   * a retry or crash, it returns the record it created. Declare `capabilities.createContact` in
   * the provider's definition so config validation accepts the mapping.
   */
  createContact?(input: NewContactInput): Promise<CrmMatch>;

  /**
   * Changes a logged activity (the id `logCall` returned): what `patch` sets, nothing else.
   * Idempotent: the same patch applied twice leaves the activity as one application did (a
   * retried job may apply it again). `patch.match` moves the activity to that record. Declare
   * `capabilities.updateCall`.
   */
  updateCall?(activityId: string, patch: ActivityPatch): Promise<void>;

  /**
   * Creates a follow-up task (a missed call to return), once per `input.key` even when called
   * again after a time-out or crash where the CRM did create it (then `created: false`). Declare
   * `capabilities.createTask`.
   */
  createTask?(input: FollowUpInput): Promise<LoggedActivity>;

  close?(): Promise<void>;
}

/** A phone number prepared for searching: the forms a CRM may have stored it in. */
export interface PhoneQuery {
  /** As VoipNow sent it. */
  raw: string;
  /** +15551234567, when the number could be parsed. */
  e164?: string;
  /** National significant number: 5551234567. */
  national?: string;
  /** Digits only of what was sent, the fallback when the number cannot be parsed. */
  digits: string;
  /** Distinct search terms, most specific first (E.164, national digits, raw digits). */
  forms: string[];
}

export interface CrmMatch {
  connection: string;
  /** Vendor object type as the CRM names it: Contact, Lead, Account, contact, company. */
  recordType: string;
  id: string;
  displayName: string;
  company?: string;
  title?: string;
  email?: string;
  /** The phone value as stored in the CRM. */
  phone?: string;
  ownerId?: string;
  ownerName?: string;
  /** Web page of the record in the CRM (Lightning URL, HubSpot record page, file provider view). */
  url?: string;
  lastActivityAt?: string;
  /** Why this record matched: the object and the phone field that holds the number (Contact / MobilePhone). */
  matchedOn?: { object: string; field: string };
  /**
   * What the agent should know about the record, where the CRM has it: open opportunities/deals,
   * open cases/tickets. Fetched with the lookup (one extra request at most) and cached with it.
   */
  context?: CrmContextItem[];
}

export interface CrmContextItem {
  kind: 'deals' | 'cases';
  /** As the CRM names them: "Open opportunities", "Open deals", "Open cases", "Open tickets". */
  label: string;
  count: number;
  /** A few of them (name, link), most recent first. */
  items?: { name: string; url?: string }[];
}

export interface CallLogInput {
  /** Idempotency key: one activity per (connection, CallID, extension). No ':' (it goes in job ids). */
  key: string;
  record: CallRecord;
  /** Best match, or undefined to log without a contact. */
  match?: CrmMatch;
  /** CRM user who owns the activity (mapping), when known. */
  ownerId?: string;
  subject: string;
  /** The activity's body: the agent's wrap-up notes (when given in time) above the call's details. */
  description: string;
  /** The disposition as the CRM stores it (the connection's `dispositions[].value`), when the agent chose one. */
  disposition?: string;
  /**
   * false only when no earlier attempt at this call can have reached the CRM (the job's first
   * run: not retried, not stalled, not replayed), so the provider may skip its search for an
   * activity carrying the key: the lone create is then one request. Absent means true.
   */
  mayExist?: boolean;
}

export interface NewContactInput {
  /** The call's idempotency key: at most one record is created per key. */
  key: string;
  /** E.164 when the number could be parsed, else as VoipNow sent it. */
  number: string;
  /** Caller ID name, when VoipNow sent one. */
  name?: string;
  ownerId?: string;
}

/** What an update of a logged activity sets; absent keys are left as they are. */
export interface ActivityPatch {
  subject?: string;
  description?: string;
  /** As the CRM stores it (`dispositions[].value`). */
  disposition?: string;
  /** The record the call belongs to, when the agent picked another one (or created one) after the log. */
  match?: CrmMatch;
}

export interface FollowUpInput {
  /** Idempotency key (the call's key with a suffix): at most one task per key. */
  key: string;
  subject: string;
  description: string;
  match?: CrmMatch;
  ownerId?: string;
  /** Due date (ms since the epoch): the day of the missed call. */
  dueAt: number;
}

export interface LoggedActivity {
  id: string;
  url?: string;
  /** false when an activity with this key already existed (a retry after a lost response). */
  created: boolean;
}

export interface CrmHealth {
  ok: boolean;
  detail?: string;
  /** Set while the connection is paused after an exhausted daily quota. */
  pausedUntil?: number;
}

/**
 * Failures, classified at the provider's edge so the rest of the connector decides retries
 * without knowing vendor codes:
 * - retryable: 5xx, network errors, lock contention, time-outs: retry with back-off;
 * - rate-limited: 429 and the like: retry after `retryAfterMs`;
 * - quota-exhausted: daily budget used up: pause the connection until `retryAfterMs`, keep jobs;
 * - auth: credentials refused even after a refresh: retry later, report in readiness;
 * - permanent: the request can never succeed (validation error, unknown owner): fail the job.
 */
export type CrmErrorKind = 'retryable' | 'rate-limited' | 'quota-exhausted' | 'auth' | 'permanent';

export class CrmError extends Error {
  constructor(
    readonly kind: CrmErrorKind,
    message: string,
    readonly opts: { retryAfterMs?: number; status?: number; code?: string; cause?: unknown } = {},
  ) {
    super(message);
    this.name = 'CrmError';
  }
}
