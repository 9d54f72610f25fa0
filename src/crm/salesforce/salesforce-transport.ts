import type { HttpRequest, HttpRequestOptions, HttpResponse } from 'jsforce';
import { Transport } from 'jsforce/lib/transport';
// The package root exports jsforce's default object only; StreamPromise lives here.
import { StreamPromise } from 'jsforce/lib/util/promise';

/** A non-2xx answer from Salesforce, with what jsforce's own errors drop: the status and headers. */
export class SalesforceHttpError extends Error {
  constructor(
    readonly status: number,
    readonly headers: Record<string, string>,
    /** REST: [{message, errorCode, fields}]; OAuth: {error, error_description}; else the text. */
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
    this.name = 'SalesforceHttpError';
  }
}

/**
 * jsforce's HTTP transport with two changes, both so the connector decides retries itself:
 * - jsforce's own retries are off (GETs on 429/5xx back off 0.5+1+2+4+8 s — a screen pop cannot
 *   wait, and the queue already retries with jitter and honours Retry-After);
 * - error answers reject with status, headers and body, which jsforce's HttpApiError loses.
 * A request's first 401 still reaches jsforce, whose session-refresh delegate runs our refreshFn
 * and repeats the request; a second 401 for the same request rejects (jsforce would refresh forever).
 */
export class SalesforceTransport extends Transport {
  private readonly unauthorised = new WeakSet<HttpRequest>();

  constructor(
    private readonly timeoutMs: number,
    /** For the REST connection; the OAuth token endpoint's 401s are plain refusals. */
    private readonly letJsforceRefresh: boolean,
  ) {
    super();
  }

  override httpRequest(req: HttpRequest, options: HttpRequestOptions = {}): StreamPromise<HttpResponse> {
    return StreamPromise.create(() => {
      const inner = super.httpRequest(req, { ...options, retry: { maxRetries: 0 }, timeout: this.timeoutMs });
      const promise = inner.then((res) => {
        if (res.statusCode < 400) return res;
        if (res.statusCode === 401 && this.letJsforceRefresh && !this.unauthorised.has(req)) {
          this.unauthorised.add(req);
          return res;
        }
        // As the server sent it: jsforce's type promises headers, an error answer may come without.
        throw new SalesforceHttpError(res.statusCode, (res as Partial<typeof res>).headers ?? {}, parse(res.body));
      });
      return { stream: inner.stream(), promise };
    });
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
