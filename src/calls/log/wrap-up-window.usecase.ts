import { Inject, Injectable } from '@nestjs/common';
import { ConfigStore } from '../../config/config.store';
import { CallStateService, StoredWrapUp } from '../call-state.service';
import { CallUpdatePublisher } from '../call-update.publisher';
import { CallCrm } from './call-crm';
import { CallToLog } from './call-to-log';
import { LoggedCallCards } from './logged-call-cards';

/**
 * An answered call waits for the agent's wrap-up before it is logged: while the window after
 * Hangup runs, unless the agent finished (`done`), and only when a page watches the owner's
 * extension (nobody can wrap up otherwise). The cards show when the log will be written.
 */
@Injectable()
export class WrapUpWindow {
  constructor(
    @Inject(ConfigStore) private readonly store: Pick<ConfigStore, 'current'>,
    @Inject(CallStateService) private readonly calls: Pick<CallStateService, 'wrapUp'>,
    @Inject(CallUpdatePublisher) private readonly updates: Pick<CallUpdatePublisher, 'watched'>,
    @Inject(CallCrm) private readonly crm: Pick<CallCrm, 'canUpdate'>,
    private readonly cards: LoggedCallCards,
  ) {}

  /** `holdUntil`: the end of the window, announced on the cards; else the wrap-up to log with (if any). */
  async check(call: CallToLog): Promise<{ holdUntil: number } | { wrapUp?: StoredWrapUp }> {
    const wrapUp = await this.calls.wrapUp(call.record.callId, call.connection);
    const until = await this.until(call, wrapUp);
    if (until === undefined) return { wrapUp };
    await this.cards.publish(call, { logsAt: until });
    return { holdUntil: until };
  }

  private async until(call: CallToLog, wrapUp: StoredWrapUp | undefined): Promise<number | undefined> {
    const windowMs = this.store.current.calls.wrapUpWindowSeconds * 1000;
    if (!windowMs || call.record.outcome !== 'answered' || wrapUp?.done || !this.crm.canUpdate(call.connection)) return undefined;
    const until = (call.record.endedAt ?? Date.now()) + windowMs;
    if (until <= Date.now() + 100) return undefined;
    const watched = await this.updates.watched(call.record.extension).catch(() => true);
    return watched === false ? undefined : until;
  }
}
