import { Inject, Injectable } from '@nestjs/common';
import { Logger } from 'pino';
import { LOGGER } from '../../config/config.tokens';
import { CallEvent } from '../../ingest/call-event';
import { MappingService } from '../../mappings/mapping.service';
import { CallRecord } from '../call-record';
import { CallStateService } from '../call-state.service';
import { CallUpdate, CallUpdatePublisher } from '../call-update.publisher';
import { CardService } from '../card.service';

export type AnsweredBy = NonNullable<CallUpdate['group']>['answeredBy'];

/**
 * Ring groups: the first member to answer tells the others' cards; a member whose ringing stopped
 * because someone else answered says who did rather than "missed".
 */
@Injectable()
export class TellRingingLegs {
  constructor(
    @Inject(CallStateService) private readonly calls: Pick<CallStateService, 'answered' | 'answeredBy' | 'legs'>,
    @Inject(MappingService) private readonly mappings: Pick<MappingService, 'resolve'>,
    @Inject(CallUpdatePublisher) private readonly updates: Pick<CallUpdatePublisher, 'publish'>,
    @Inject(CardService) private readonly cards: Pick<CardService, 'labels'>,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /**
   * Who else answered this CallID, for a leg that did not: on its Hangup (its ringing stopped), one
   * read. On an inbound Answer, the answering leg notes itself as the first and updates the cards
   * of the other legs still ringing; it returns undefined for itself.
   */
  async takenBy(event: CallEvent, record: CallRecord): Promise<AnsweredBy | undefined> {
    const extension = await this.otherAnswerer(event, record);
    return extension ? { extension, label: this.mappings.resolve(extension).label } : undefined;
  }

  private async otherAnswerer(event: CallEvent, record: CallRecord): Promise<string | undefined> {
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
          .catch((err: unknown) => this.log.warn({ event: 'pop.group_update_failed', callId: record.callId, err: (err as Error).message }, 'could not tell the other ringing extensions who answered')),
      ),
    );
  }
}
