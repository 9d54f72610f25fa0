import { Inject, Injectable } from '@nestjs/common';
import { PhoneQuery } from '../../crm/crm-provider';
import { CachePeek, LookupService } from '../../crm/lookup.service';
import { CallEvent } from '../../ingest/call-event';
import { shouldLookUp, shouldPop } from '../../mappings/decide';
import { MappingService } from '../../mappings/mapping.service';
import { ResolvedMapping } from '../../mappings/resolve-mapping';
import { foldCallRecord, CallRecord } from '../call-record';
import { CallStateService } from '../call-state.service';

/** The number the event alone says the call is with, parsed, and the read of its lookup cache entry, started. */
export interface Peeked {
  number: string;
  query: PhoneQuery;
  cache: CachePeek;
}

export type PopTarget = { record: CallRecord; mapping: ResolvedMapping; peeked?: Peeked } | { skipped: string };

/**
 * The card an event updates: the extension's mapping, the call's record, and whether its page
 * gets updates at all. The record's extension is the event's (one record per CallID and
 * extension), so the mapping and, from the event alone, the number to look up are known before the
 * record is read: the number's cache read goes out alongside the record's.
 */
@Injectable()
export class ResolvePop {
  constructor(
    @Inject(MappingService) private readonly mappings: Pick<MappingService, 'resolve'>,
    @Inject(LookupService) private readonly lookups: Pick<LookupService, 'peek'>,
    @Inject(CallStateService) private readonly calls: Pick<CallStateService, 'keepEvent' | 'remember' | 'annotate'>,
  ) {}

  async resolve(event: CallEvent): Promise<PopTarget> {
    const mapping = this.mappings.resolve(event.extension);
    const peeked = this.peek(event, mapping);
    // The job's first step: its event is kept in the call state (the job carried it from ingest).
    const record = await this.calls.keepEvent(event);
    const pop = shouldPop(record, mapping);
    if (!pop.yes) {
      const opensCard = event.type === 'dial-in' || event.type === 'dial-out';
      await Promise.all([
        this.calls.remember(record.callId, record.extension, event.receivedAt),
        opensCard && this.calls.annotate(record.callId, record.extension, 'pop', { status: 'skipped', event: event.type, reason: pop.reason, at: Date.now() }),
      ]);
      return { skipped: pop.reason };
    }
    return { record, mapping, peeked };
  }

  private peek(event: CallEvent, mapping: ResolvedMapping): Peeked | undefined {
    const guess = foldCallRecord({ [event.type]: event });
    if (!guess?.remoteNumber) return undefined;
    const look = shouldLookUp(guess, mapping);
    return look.yes ? { number: guess.remoteNumber, query: look.query, cache: this.lookups.peek(look.connection, look.query) } : undefined;
  }
}
