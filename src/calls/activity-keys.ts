import { escapeIdPart } from '../ingest/call-event';
import { ResolvedMapping } from '../mappings/resolve-mapping';
import { RedisKeys } from '../redis/redis-keys';

/**
 * The idempotency key of a call's CRM activity: one per customer call on a connection
 * (`callLogging: per-call`, however many extensions it rang), or one per extension it rang
 * (`per-extension`). No ':' (it goes in job ids).
 */
export function activityKey(callId: string, extension: string, mapping: ResolvedMapping): string {
  return mapping.actions.callLogging === 'per-call' ? `vn-${escapeIdPart(callId)}` : `vn-${escapeIdPart(callId)}-${escapeIdPart(extension)}`;
}

/** @deprecated inject RedisKeys and use `loggedMarker(connection, key)`: the same key. */
export function loggedMarkerKey(prefix: string, connection: string, key: string): string {
  return new RedisKeys(prefix).loggedMarker(connection, key);
}

/** @deprecated inject RedisKeys and use `logClaim(connection, key)`: the same key. */
export function logClaimKey(prefix: string, connection: string, key: string): string {
  return new RedisKeys(prefix).logClaim(connection, key);
}

/** What the logged marker (RedisKeys.loggedMarker) holds: `{id, url, endedAt}` of what was logged. */
export interface LoggedMarker {
  id: string;
  url?: string;
  /** The end of the call as logged: a leg that ends later (a transfer) updates the activity. */
  endedAt?: number;
}
