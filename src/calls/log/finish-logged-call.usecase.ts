import { Inject, Injectable } from '@nestjs/common';
import { LoggedActivity, CrmMatch } from '../../crm/crm-provider';
import { EventQueueService } from '../../queue/event-queue.service';
import { CallStateService, StoredWrapUp } from '../call-state.service';
import { CallLogOutcome, CallToLog } from './call-to-log';
import { FollowUpMissedCall } from './follow-up-missed-call.usecase';
import { LoggedCallCards } from './logged-call-cards';
import { LogOutcomes } from './log-outcomes';

/**
 * Once the call's activity exists: a wrap-up saved while it was written is applied as an update,
 * the cards show the activity, a missed call gets its follow-up task, and the outcome is noted.
 */
@Injectable()
export class FinishLoggedCall {
  constructor(
    @Inject(CallStateService) private readonly calls: Pick<CallStateService, 'wrapUp'>,
    @Inject(EventQueueService) private readonly queues: Pick<EventQueueService, 'addWrapUpUpdate'>,
    private readonly cards: LoggedCallCards,
    private readonly followUp: FollowUpMissedCall,
    private readonly outcomes: LogOutcomes,
  ) {}

  /** `wrapUp`: the one the activity was written with. */
  async logged(call: CallToLog, activity: LoggedActivity, match: CrmMatch | undefined, wrapUp: StoredWrapUp | undefined): Promise<CallLogOutcome> {
    const { record, connection } = call;
    const latest = await this.calls.wrapUp(record.callId, connection);
    if (latest && latest.savedAt === wrapUp?.savedAt) await this.cards.setWrapUp(call, { ...latest, state: 'logged' });
    else if (latest) await this.queues.addWrapUpUpdate(record.callId, record.extension, call.key);
    await this.cards.publish(call, { activity: { connection, id: activity.id, url: activity.url } });
    await this.followUp.create(call, activity.id);
    return this.outcomes.logged(call, { status: 'logged', connection, activity, matchId: match?.id });
  }
}
