/**
 * The connector's named Redis connections (provided by RedisModule; inject them with `@Inject(TOKEN)`).
 * Each role has one connection per process; a service never reaches into another's.
 */

/**
 * Fail-fast and auto-pipelined: anything an HTTP request waits on (ingest's queue writes, call state,
 * embed pairing). Commands fail at once while Redis is away, so a request gets a 503, not a hang.
 */
export const REQUEST_REDIS = Symbol('REQUEST_REDIS');

/** Waits out an outage (commands queue while reconnecting): workers' helpers, CRM caches, locks, pauses, budgets. */
export const SHARED_REDIS = Symbol('SHARED_REDIS');
