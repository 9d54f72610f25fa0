import { escapeIdPart } from '../ingest/call-event';
import { ResolvedMapping } from '../mappings/resolve-mapping';

/**
 * The idempotency key of a call's CRM activity: one per customer call on a connection
 * (`callLogging: per-call`, however many extensions it rang), or one per extension it rang
 * (`per-extension`). No ':' (it goes in job ids).
 */
export function activityKey(callId: string, extension: string, mapping: ResolvedMapping): string {
  return mapping.actions.callLogging === 'per-call' ? `vn-${escapeIdPart(callId)}` : `vn-${escapeIdPart(callId)}-${escapeIdPart(extension)}`;
}

/** What the logged marker (RedisKeys.loggedMarker) holds: `{id, url, endedAt}` of what was logged. */
export interface LoggedMarker {
  id: string;
  url?: string;
  /** The end of the call as logged: a leg that ends later (a transfer) updates the activity. */
  endedAt?: number;
}
