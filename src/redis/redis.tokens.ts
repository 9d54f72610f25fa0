/**
 * The connector's named Redis connections (provided by RedisModule and built by its factories;
 * inject them with `@Inject(TOKEN)`). Each has one connection per process; a service never
 * reaches into another's. Key and channel names come from RedisKeys (injectable as is).
 */

/**
 * Fail-fast and auto-pipelined: anything an HTTP request waits on (ingest's queue writes, call state,
 * embed pairing, readiness). Commands fail at once while Redis is away, so a request gets a 503, not a hang.
 */
export const REQUEST_REDIS = Symbol('REQUEST_REDIS');

/**
 * Waits out an outage (commands queue while reconnecting): workers' helpers, CRM caches, locks,
 * pauses, budgets, agent links, and the call-update publisher (its scripts are defined on it).
 */
export const SHARED_REDIS = Symbol('SHARED_REDIS');

/**
 * Fail-fast, for the agent pages' replay reads (XRANGE of the last minute's updates): when the
 * update subscriber comes back, every open page catches up at once, and those reads must not
 * queue in front of ingest's writes on the request path's connection. Opened only in processes
 * that serve agent pages (ScreenPopModule provides it: see agentPageRedisProviders).
 */
export const AGENT_REPLAY_REDIS = Symbol('AGENT_REPLAY_REDIS');

/**
 * The agent update channels' subscriber (an UpdateSubscriber): a connection in SUBSCRIBE mode runs
 * nothing else. Opened by UpdateHub, replaced on a Cluster when its node stays away.
 */
export const UPDATE_SUBSCRIBER = Symbol('UPDATE_SUBSCRIBER');
