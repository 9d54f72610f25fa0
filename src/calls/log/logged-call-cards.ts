import { Inject, Injectable } from '@nestjs/common';
import { MappingService } from '../../mappings/mapping.service';
import { CallStateService, StoredWrapUp, wrapUpView } from '../call-state.service';
import { CallUpdate, CallUpdatePublisher } from '../call-update.publisher';
import { CardService } from '../card.service';
import { CallToLog } from './call-to-log';

export type LoggedCallNews = Pick<CallUpdate, 'activity' | 'wrapUp'> & { logsAt?: number };

/** What the agents' cards learn of a call's log: when it will be written, the activity, the wrap-up's state. */
@Injectable()
export class LoggedCallCards {
  constructor(
    @Inject(CallStateService) private readonly calls: Pick<CallStateService, 'get' | 'wrapUp' | 'saveWrapUp'>,
    @Inject(MappingService) private readonly mappings: Pick<MappingService, 'resolve'>,
    @Inject(CallUpdatePublisher) private readonly updates: Pick<CallUpdatePublisher, 'publish'>,
    @Inject(CardService) private readonly cards: Pick<CardService, 'labels' | 'offers'>,
  ) {}

  /** An update of the logged call on the card of every extension the call rang. */
  async publish(call: CallToLog, what: LoggedCallNews): Promise<void> {
    const extensions = call.legs?.map((l) => l.extension) ?? [call.record.extension];
    const records = await Promise.all(extensions.map((e) => (e === call.record.extension && !call.legs ? call.record : this.calls.get(call.record.callId, e))));
    await Promise.all(
      records.map((record) => {
        if (!record) return undefined;
        const mapping = this.mappings.resolve(record.extension);
        return this.updates
          .publish({
            event: 'hangup',
            record,
            publishedAt: Date.now(),
            ...(what.activity ? { activity: what.activity } : {}),
            ...(what.wrapUp ? { wrapUp: what.wrapUp } : {}),
            ...(what.logsAt ? { offers: this.cards.offers(mapping, record, { internal: false, logsAt: what.logsAt }) } : {}),
            labels: this.cards.labels(mapping),
          })
          .catch(() => undefined);
      }),
    );
  }

  async setWrapUp(call: CallToLog, wrapUp: StoredWrapUp): Promise<void> {
    await this.calls.saveWrapUp(call.record.callId, call.connection, wrapUp);
    await this.publish(call, { wrapUp: wrapUpView(wrapUp) });
  }

  /** The call (or its update) failed for good: a wrap-up waiting for it says so on the cards, with the reason. */
  async wrapUpFailed(call: CallToLog, reason: string): Promise<void> {
    const wrapUp = await this.calls.wrapUp(call.record.callId, call.connection);
    if (wrapUp && wrapUp.state === 'saved') await this.setWrapUp(call, { ...wrapUp, state: 'failed', reason: `Not written to the CRM: ${reason}. Ops can replay it.` });
  }
}
