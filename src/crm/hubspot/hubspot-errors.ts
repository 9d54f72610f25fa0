import { CrmError } from '../crm-provider';

/** What the SDK throws for a non-2xx answer (ApiException) — only the fields we read. */
interface ApiExceptionLike {
  code: number;
  // As HubSpot (or a proxy in front of it) sent it: JSON null included.
  body?: { message?: string; category?: string; policyName?: string; errorType?: string } | string | null;
  headers?: Record<string, string>;
}

const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/**
 * HubSpot failures into the connector's kinds. 429s say which limit was hit in their headers
 * (the SDK's error model drops the body's policyName): a spent daily budget pauses the connection
 * until the next day; the rolling 10-second window only delays.
 */
export function classifyHubSpotError(err: unknown): CrmError {
  if (err instanceof CrmError) return err;
  const e = err as Partial<ApiExceptionLike> & { name?: string; message?: string; cause?: { code?: string }; errno?: string };
  if (typeof e.code === 'number' && e.code > 0) {
    const status = e.code;
    const headers = lower(e.headers ?? {});
    const body = typeof e.body === 'object' && e.body ? e.body : undefined;
    const message = `HubSpot ${status}: ${body?.message ?? (typeof e.body === 'string' ? e.body.slice(0, 200) : 'error')}`;
    if (status === 429) {
      const daily = headers['x-hubspot-ratelimit-daily-remaining'] === '0' || body?.policyName === 'DAILY';
      if (daily) return new CrmError('quota-exhausted', message, { status, code: 'DAILY', retryAfterMs: untilNextUtcDay() });
      const retryAfter = Number(headers['retry-after']) * 1000 || Number(headers['x-hubspot-ratelimit-interval-milliseconds']) || 10_000;
      return new CrmError('rate-limited', message, { status, code: body?.policyName ?? 'RATE_LIMIT', retryAfterMs: retryAfter });
    }
    if (status === 401) return new CrmError('auth', message, { status, code: body?.category });
    if (status >= 500) return new CrmError('retryable', message, { status, code: body?.category });
    return new CrmError('permanent', message, { status, code: body?.category });
  }
  const code = typeof e.code === 'string' ? e.code : (e.cause?.code ?? e.errno);
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return new CrmError('retryable', `HubSpot did not answer in time (${e.message ?? e.name})`, { code: 'TIMEOUT', cause: err });
  if (code && NETWORK.has(code)) return new CrmError('retryable', `HubSpot unreachable: ${code}`, { code, cause: err });
  // Unknown failures are retried: if they persist the job ends in the failed set with this message.
  return new CrmError('retryable', `HubSpot request failed: ${e.message ?? String(err)}`, { cause: err });
}

// As the response carried them: a repeated header can come as an array.
function lower(headers: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
}

function untilNextUtcDay(): number {
  const now = new Date();
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1, 0, 1);
  return next - now.getTime();
}
