import { Inject, Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { Logger } from 'pino';
import { ConfigStore } from '../config/config.store';
import { CallStateService, RECENT_CALLS_KEPT } from '../calls/call-state.service';
import { foldCallRecord } from '../calls/call-record';
import { CallNotes, CallUpdate, CallUpdatePublisher } from '../calls/call-update.publisher';
import { CONNECTOR_CONFIG, LOGGER } from '../config/config.tokens';
import { ConnectorConfig } from '../config/config.schema';
import { CrmError, PhoneQuery } from '../crm/crm-provider';
import { CrmRegistry } from '../crm/crm-registry.service';
import { CachePeek, LookupService } from '../crm/lookup.service';
import { phoneQuery } from '../crm/phone';
import { isInternalCall, shouldLookUp, shouldPop } from '../mappings/decide';
import { CardService } from '../calls/card.service';
import { CallRecord } from '../calls/call-record';
import { MappingService } from '../mappings/mapping.service';
import { ResolvedMapping } from '../mappings/resolve-mapping';
import { CallEvent } from '../ingest/call-event';
import { MetricsService } from '../metrics/metrics.service';
import { JobProcessor } from './job-processor';
import { PopJobData, QueueName } from './queues';

type Lookup = NonNullable<CallUpdate['lookup']>;

/**
 * Latency-critical: turns each event into an update of the agent's card. The lookup gets a time
 * budget; past it the card shows the number with "looking up…" and fills in when the CRM answers.
 */
@Injectable()
export class ScreenPopProcessor implements JobProcessor<PopJobData> {
  readonly queue = QueueName.ScreenPop;

  constructor(
    private readonly calls: CallStateService,
    private readonly updates: CallUpdatePublisher,
    private readonly mappings: MappingService,
    private readonly lookups: LookupService,
    private readonly crm: CrmRegistry,
    private readonly store: ConfigStore,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly metrics: MetricsService,
    // The record TTL as CallStateService read it at start (it does not follow reloads either).
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    private readonly cards: CardService,
  ) {}

  concurrency() {
    return this.store.current.workers.screenPopConcurrency;
  }

  /**
   * Redis round trips on the way to the card: the call record (with the number's cache entry read
   * alongside), then one script that publishes the update and writes the ops notes.
   */
  async process(job: Job<PopJobData>) {
    const { event } = job.data;
    // The record's extension is the event's (one record per CallID and extension), so the mapping
    // and, from the event alone, the number to look up are known before the record is read.
    const mapping = this.mappings.resolve(event.extension);
    const peeked = this.peek(event, mapping);
    const record = await this.calls.get(event.callId, event.extension, event);
    if (!record) {
      await this.calls.remember(event.callId, event.extension, event.receivedAt);
      return { skipped: 'call record expired' };
    }
    const pop = shouldPop(record, mapping);
    const opensCard = event.type === 'dial-in' || event.type === 'dial-out';
    if (!pop.yes) {
      await Promise.all([
        this.calls.remember(record.callId, record.extension, event.receivedAt),
        opensCard && this.calls.annotate(record.callId, record.extension, 'pop', { status: 'skipped', event: event.type, reason: pop.reason, at: Date.now() }),
      ]);
      return { skipped: pop.reason };
    }

    // Ring groups: the first member to answer tells the others' cards; a member whose ringing
    // stopped because someone else answered says who did rather than "missed".
    const takenBy = await this.takenBy(event, record);
    const internal = mapping.actions.skipInternal && isInternalCall(record);
    const extras: Pick<CallUpdate, 'labels' | 'offers' | 'group'> = {
      labels: this.cards.labels(mapping),
      offers: this.cards.offers(mapping, record, { internal }),
      ...(takenBy ? { group: { answeredBy: { extension: takenBy, label: this.mappings.resolve(takenBy).label } } } : {}),
    };
    const publish = async (lookup: Lookup) => {
      const publishedAt = Date.now();
      // For ops' recent-calls list: what the pop (the Dial-In/Dial-Out card) showed. Answer and
      // Hangup only update that card, and may be processed in any order, so they are not noted.
      const card =
        lookup.status !== 'pending' && opensCard
          ? { status: 'popped', event: event.type, lookup: lookup.status, reason: lookup.reason, connection: lookup.connection, matchIds: lookup.matches.map((m) => m.id), at: publishedAt }
          : undefined;
      // The ops notes (the call in the recent list, the card) go in the publish's round trip.
      const notes: CallNotes = {
        callKey: this.calls.key(record.callId, record.extension),
        ttlMs: this.config.calls.recordTtlHours * 3600_000,
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
    const look = shouldLookUp(record, mapping);
    const query = !look.yes ? undefined : peeked && peeked.number === record.remoteNumber ? peeked.query : phoneQuery(record.remoteNumber, mapping.country);
    if (!look.yes || !query) {
      await publish({ status: 'skipped', reason: look.yes ? 'not a phone number' : look.reason, matches: [] });
      return { lookup: 'skipped' };
    }
    const connection = mapping.connection!;
    const provider = this.crm.get(connection);
    const result: Promise<Lookup> = this.lookups.lookup(connection, query, { peeked: peeked?.cache }).then(
      ({ matches }) => ({ status: 'done', connection, matches, newContactUrl: matches.length ? undefined : provider.newContactUrl?.(query.e164 ?? query.raw) }),
      (err: unknown) => {
        this.log.warn({ event: 'lookup.failed', connection, kind: err instanceof CrmError ? err.kind : 'error', err: (err as Error).message }, 'CRM lookup failed');
        return { status: 'error', connection, reason: err instanceof CrmError ? err.kind : 'error', matches: [] };
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), this.store.current.screenPop.lookupBudgetMs)));
    const first = await Promise.race([result, budget]);
    clearTimeout(timer);
    if (first) {
      await publish(first);
      return { lookup: first.status, matches: first.matches.length };
    }
    await publish({ status: 'pending', connection, matches: [] });
    const final = await result;
    await publish(final);
    return { lookup: final.status, matches: final.matches.length, late: true };
  }

  /**
   * Who else answered this CallID, for a leg that did not: on its Hangup (its ringing stopped), one
   * read. On an inbound Answer, the answering leg notes itself as the first and updates the cards
   * of the other legs still ringing; it returns undefined for itself.
   */
  private async takenBy(event: CallEvent, record: CallRecord): Promise<string | undefined> {
    if (record.direction !== 'inbound') return undefined;
    if (event.type === 'answer-in') {
      const first = await this.calls.answered(record.callId, record.extension);
      if (first === record.extension) await this.tellOthers(record, first);
      return first === record.extension ? undefined : first;
    }
    if (event.type !== 'hangup' || record.answeredAt !== undefined) return undefined;
    const first = await this.calls.answeredBy(record.callId);
    return first && first !== record.extension ? first : undefined;
  }

  /** The cards of the CallID's other legs still ringing move to "answered by …". */
  private async tellOthers(record: CallRecord, answeredBy: string): Promise<void> {
    const legs = (await this.calls.legs(record.callId, record.extension)).filter((r) => r.extension !== record.extension && r.outcome === 'ringing');
    const label = this.mappings.resolve(answeredBy).label;
    await Promise.all(
      legs.map((leg) =>
        this.updates
          .publish({
            event: 'answer-in',
            record: leg,
            publishedAt: Date.now(),
            group: { answeredBy: { extension: answeredBy, label } },
            labels: this.cards.labels(this.mappings.resolve(leg.extension)),
          })
          .catch((err: Error) => this.log.warn({ event: 'pop.group_update_failed', callId: record.callId, err: err.message }, 'could not tell the other ringing extensions who answered')),
      ),
    );
  }

  /** The number the event alone says the call is with, and the read of its lookup cache entry, started. */
  private peek(event: CallEvent, mapping: ResolvedMapping): { number: string; query: PhoneQuery; cache: CachePeek } | undefined {
    const guess = foldCallRecord({ [event.type]: event });
    if (!guess?.remoteNumber || !shouldLookUp(guess, mapping).yes) return undefined;
    const query = phoneQuery(guess.remoteNumber, mapping.country);
    return query && { number: guess.remoteNumber, query, cache: this.lookups.peek(mapping.connection!, query) };
  }
}
