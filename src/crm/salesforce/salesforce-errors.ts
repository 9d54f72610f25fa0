import { maskNumber } from '../../logging/logger';
import { CrmError } from '../crm-provider';
import { SalesforceHttpError } from './salesforce-transport';

interface RestError {
  message?: string;
  errorCode?: string;
  fields?: string[];
}

const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_SOCKET']);
/** Row lock contention and the like: the same request succeeds a moment later. */
const TRANSIENT_CODES = new Set(['UNABLE_TO_LOCK_ROW', 'SERVER_UNAVAILABLE', 'QUERY_TIMEOUT']);
/**
 * The daily API allowance is a rolling 24-hour window, so requests come back as old ones age
 * out: pause for an hour and try again rather than until midnight.
 */
const QUOTA_PAUSE_MS = 3600_000;

/**
 * Salesforce failures into the connector's kinds. REST errors are an array of
 * {message, errorCode, fields}; OAuth errors are {error, error_description}.
 */
export function classifySalesforceError(err: unknown): CrmError {
  if (err instanceof CrmError) return err;
  if (err instanceof SalesforceHttpError) return classifyHttp(err);
  const e = err as { name?: string; message?: string; code?: string; errno?: string; errorCode?: string; type?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return new CrmError('retryable', `Salesforce did not answer in time (${e.message ?? e.name})`, { code: 'TIMEOUT', cause: err });
  const code = e.code ?? e.errno;
  if (code && NETWORK.has(code)) return new CrmError('retryable', `Salesforce unreachable: ${code}`, { code, cause: err });
  if (e.type === 'request-timeout') return new CrmError('retryable', `Salesforce did not answer in time (${e.message ?? e.type})`, { code: 'TIMEOUT', cause: err });
  // Unknown failures are retried: if they persist the job ends in the failed set with this message.
  return new CrmError('retryable', `Salesforce request failed: ${e.message ?? String(err)}`, { code: e.errorCode, cause: err });
}

function classifyHttp(err: SalesforceHttpError): CrmError {
  const { status, headers } = err;
  const first: RestError = Array.isArray(err.body) ? ((err.body[0] as RestError | undefined) ?? {}) : {};
  const oauth = !Array.isArray(err.body) && typeof err.body === 'object' && err.body ? (err.body as { error?: string; error_description?: string }) : undefined;
  const code = first.errorCode ?? oauth?.error ?? `HTTP_${status}`;
  // Salesforce's messages can quote the failed SOSL/SOQL, and with it the caller's number: masked,
  // since these messages end up in logs and in the failed-job list.
  const detail = (first.message ?? oauth?.error_description ?? (typeof err.body === 'string' && err.body ? err.body.slice(0, 200) : 'error')).replace(/\+?\d[\d ().-]{5,}\d/g, (n) => maskNumber(n));
  const message = `Salesforce ${status} ${code}: ${detail}${first.fields?.length ? ` (fields: ${first.fields.join(', ')})` : ''}`;
  const retryAfter = retryAfterMs(headers['retry-after']);
  const opts = { status, code, cause: err };

  if (code === 'REQUEST_LIMIT_EXCEEDED') {
    // One errorCode for two limits; only the message tells the org's daily total
    // ("TotalRequests Limit exceeded.") from too many concurrent long requests, which clears in seconds.
    if (/TotalRequests/i.test(detail)) return new CrmError('quota-exhausted', message, { ...opts, retryAfterMs: QUOTA_PAUSE_MS });
    return new CrmError('rate-limited', message, { ...opts, retryAfterMs: retryAfter ?? 10_000 });
  }
  if (status === 429 || (status === 503 && retryAfter !== undefined)) return new CrmError('rate-limited', message, { ...opts, retryAfterMs: retryAfter ?? 10_000 });
  if (TRANSIENT_CODES.has(code) || status >= 500) return new CrmError('retryable', message, opts);
  // 401 after jsforce's refresh, or a refused grant (revoked/expired refresh token, unapproved JWT user, bad client).
  if (status === 401 || (oauth && /^invalid_(grant|client|client_id|client_credentials|app_access)$|^unauthorized_client$/.test(code))) return new CrmError('auth', message, opts);
  // Validation (FIELD_CUSTOM_VALIDATION_EXCEPTION, INVALID_CROSS_REFERENCE_KEY), MALFORMED_QUERY,
  // missing permissions, unknown fields: the same request can never succeed.
  return new CrmError('permanent', message, opts);
}

/** Retry-After as seconds or an HTTP date, in ms. */
function retryAfterMs(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
