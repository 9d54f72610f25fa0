import { CallEvent } from '../../ingest/call-event';

/**
 * The events of a (CallID, extension) that ingest accepted but no screen-pop worker has kept in the
 * call state yet (the pop queue is behind): still carried by their jobs. Implemented over the
 * queue in src/queue/pending-pop-events.ts; the use cases see only this.
 */
export abstract class PendingEvents {
  abstract of(callId: string, extension: string): Promise<CallEvent[]>;
}
