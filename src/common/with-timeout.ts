/**
 * What `withTimeout` rejects with. Named `TimeoutError`, like the reason of `AbortSignal.timeout()`,
 * so the CRM error classifiers treat our time-out and an aborted signal alike (retryable, code TIMEOUT).
 */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';

  constructor(
    /** The budget that ran out, in ms. */
    readonly ms: number,
    subject?: string,
  ) {
    super(subject ? `${subject} did not answer within ${ms} ms` : `no answer within ${ms} ms`);
  }
}

export interface TimeoutOptions {
  /** The caller gave up: stop waiting at once (same TimeoutError), and do not start work given as a function. */
  signal?: AbortSignal;
  /** Who did not answer, for the message: "Redis did not answer within 750 ms" (else "no answer within 750 ms"). */
  subject?: string;
}

/**
 * Settles as `work` does, unless `ms` pass or `opts.signal` aborts first: then rejects with a
 * TimeoutError naming the budget. The work itself is not cancelled (a Redis command or an SDK
 * request cannot be); its late answer, or late failure, is dropped. Give the work as a function
 * when it should not start for a caller that already gave up. The timer and the abort listener
 * are removed as soon as the outcome is known, so a settled call keeps nothing alive.
 */
export function withTimeout<T>(work: Promise<T> | (() => Promise<T>), ms: number, opts: TimeoutOptions = {}): Promise<T> {
  const { signal, subject } = opts;
  if (signal?.aborted) {
    // A promise given is already running: its failure must not go unhandled once nobody waits for it.
    if (typeof work !== 'function') work.catch(() => undefined);
    return Promise.reject(new TimeoutError(ms, subject));
  }
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', fail);
    };
    const fail = () => {
      done();
      reject(new TimeoutError(ms, subject));
    };
    const timer = setTimeout(fail, ms);
    signal?.addEventListener('abort', fail, { once: true });
    // A function that throws rather than rejecting fails the same way.
    const running = typeof work === 'function' ? new Promise<T>((run) => run(work())) : work;
    running.finally(done).then(resolve, reject);
  });
}
