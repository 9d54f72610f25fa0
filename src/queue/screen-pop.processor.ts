import { Inject, Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { Logger } from 'pino';
import { ConfigStore } from '../config/config.store';
import { CallStateService } from '../calls/call-state.service';
import { CallUpdate, CallUpdatePublisher } from '../calls/call-update.publisher';
import { LOGGER } from '../config/config.tokens';
import { CrmError } from '../crm/crm-provider';
import { CrmRegistry } from '../crm/crm-registry.service';
import { LookupService } from '../crm/lookup.service';
import { phoneQuery } from '../crm/phone';
import { shouldLookUp, shouldPop } from '../mappings/decide';
import { MappingService } from '../mappings/mapping.service';
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
  ) {}

  concurrency() {
    return this.store.current.workers.screenPopConcurrency;
  }

  async process(job: Job<PopJobData>) {
    const { event } = job.data;
    const [record] = await Promise.all([this.calls.get(event.callId, event.extension, event), this.calls.remember(event.callId, event.extension, event.receivedAt)]);
    if (!record) return { skipped: 'call record expired' };
    const mapping = this.mappings.resolve(record.extension);
    const pop = shouldPop(record, mapping);
    const opensCard = event.type === 'dial-in' || event.type === 'dial-out';
    if (!pop.yes) {
      if (opensCard) await this.calls.annotate(record.callId, record.extension, 'pop', { status: 'skipped', event: event.type, reason: pop.reason, at: Date.now() });
      return { skipped: pop.reason };
    }

    const publish = async (lookup: Lookup) => {
      const publishedAt = Date.now();
      await this.updates.publish({ event: event.type, record, publishedAt, lookup });
      this.metrics.popLatency.observe({ lookup: lookup.status }, (publishedAt - event.receivedAt) / 1000);
      // For ops' recent-calls list: what the pop (the Dial-In/Dial-Out card) showed. Answer and
      // Hangup only update that card, and may be processed in any order, so they are not noted.
      if (lookup.status !== 'pending' && opensCard) {
        const card = { status: 'popped', event: event.type, lookup: lookup.status, reason: lookup.reason, connection: lookup.connection, matchIds: lookup.matches.map((m) => m.id), at: publishedAt };
        await this.calls.annotate(record.callId, record.extension, 'pop', card);
      }
    };
    const look = shouldLookUp(record, mapping);
    const query = look.yes ? phoneQuery(record.remoteNumber, mapping.country) : undefined;
    if (!look.yes || !query) {
      await publish({ status: 'skipped', reason: look.yes ? 'not a phone number' : look.reason, matches: [] });
      return { lookup: 'skipped' };
    }
    const connection = mapping.connection!;
    const provider = this.crm.get(connection);
    const result: Promise<Lookup> = this.lookups.lookup(connection, query).then(
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
}
