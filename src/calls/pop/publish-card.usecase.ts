import { Inject, Injectable } from '@nestjs/common';
import { CallEvent } from '../../ingest/call-event';
import { isInternalCall } from '../../mappings/decide';
import { ResolvedMapping } from '../../mappings/resolve-mapping';
import { MetricsService } from '../../metrics/metrics.service';
import { CallRecord } from '../call-record';
import { CallStateService, RECENT_CALLS_KEPT } from '../call-state.service';
import { CallNotes, CallUpdate, CallUpdatePublisher } from '../call-update.publisher';
import { CardService } from '../card.service';
import { AnsweredBy } from './tell-ringing-legs.usecase';

export type Lookup = NonNullable<CallUpdate['lookup']>;
export type PublishLookup = (lookup: Lookup) => Promise<void>;

/**
 * Puts the event's card on the agent's page: the call, the lookup as it stands, labels, offers and
 * who answered. One round trip per publish: the script that publishes also writes the ops notes.
 */
@Injectable()
export class PublishCard {
  constructor(
    @Inject(CallUpdatePublisher) private readonly updates: Pick<CallUpdatePublisher, 'publish'>,
    @Inject(CallStateService) private readonly calls: Pick<CallStateService, 'key' | 'recentKey' | 'legsKey' | 'recordTtlMs'>,
    @Inject(CardService) private readonly cards: Pick<CardService, 'labels' | 'offers'>,
    @Inject(MetricsService) private readonly metrics: Pick<MetricsService, 'popLatency'>,
  ) {}

  /** The card of this event, to publish once per state of its lookup (pending, then done). */
  prepare(event: CallEvent, record: CallRecord, mapping: ResolvedMapping, answeredBy: AnsweredBy | undefined): PublishLookup {
    const opensCard = event.type === 'dial-in' || event.type === 'dial-out';
    const internal = mapping.actions.skipInternal && isInternalCall(record);
    const extras: Pick<CallUpdate, 'labels' | 'offers' | 'group'> = {
      labels: this.cards.labels(mapping),
      offers: this.cards.offers(mapping, record, { internal }),
      ...(answeredBy ? { group: { answeredBy } } : {}),
    };
    return async (lookup) => {
      const publishedAt = Date.now();
      // For ops' recent-calls list: what the pop (the Dial-In/Dial-Out card) showed. Answer and
      // Hangup only update that card, and may be processed in any order, so they are not noted.
      const card =
        lookup.status !== 'pending' && opensCard
          ? { status: 'popped', event: event.type, lookup: lookup.status, reason: lookup.reason, connection: lookup.connection, matchIds: lookup.matches.map((m) => m.id), at: publishedAt }
          : undefined;
      const notes: CallNotes = {
        callKey: this.calls.key(record.callId, record.extension),
        // The record TTL as CallStateService read it at start (it does not follow reloads either).
        ttlMs: this.calls.recordTtlMs,
        pop: card,
        recentKey: this.calls.recentKey(),
        member: JSON.stringify([record.callId, record.extension]),
        at: event.receivedAt,
        keep: RECENT_CALLS_KEPT,
        legsKey: this.calls.legsKey(record.callId),
      };
      await this.updates.publish({ event: event.type, record, publishedAt, lookup, ...extras }, notes);
      this.metrics.popLatency.observe({ lookup: lookup.status }, (publishedAt - event.receivedAt) / 1000);
    };
  }
}
