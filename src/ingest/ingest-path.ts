/**
 * Where VoipNow sends its Call Events: `${INGEST_PREFIX}/<event type>` (see call-event.ts for the
 * types). A file of its own, with no imports, so the simulator CLI can use it without loading the
 * server's modules.
 */
export const INGEST_PREFIX = '/voipnow/events';

/** The Fastify route of the ingest handlers (ingest.routes.ts). */
export const INGEST_ROUTE = `${INGEST_PREFIX}/:event`;
