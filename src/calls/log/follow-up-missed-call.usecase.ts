import { Inject, Injectable } from '@nestjs/common';
import { Logger } from 'pino';
import { LOGGER } from '../../config/config.tokens';
import { callDescription, followUpSubject } from '../../crm/call-summary';
import { CallCrm } from './call-crm';
import { CallToLog } from './call-to-log';
import { LogLedger } from './log-ledger';

/** A missed inbound call under `followUpMissed`: one follow-up task for its owner, due that day. */
@Injectable()
export class FollowUpMissedCall {
  constructor(
    @Inject(CallCrm) private readonly crm: Pick<CallCrm, 'canCreateTask' | 'matches' | 'ownerId' | 'createTask'>,
    @Inject(LogLedger) private readonly ledger: Pick<LogLedger, 'followUpTask' | 'saveFollowUpTask'>,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** Never fails the call's log: a task that could not be created is a warning. */
  async create(call: CallToLog, activityId: string): Promise<void> {
    await this.createTask(call, activityId).catch((err: unknown) =>
      this.log.warn({ event: 'crm.follow_up_failed', callId: call.record.callId, connection: call.connection, err: (err as Error).message }, 'follow-up task not created'),
    );
  }

  private async createTask(call: CallToLog, activityId: string): Promise<void> {
    const { record, mapping, connection, key } = call;
    if (!mapping.actions.followUpMissed || record.direction !== 'inbound' || record.answeredAt !== undefined) return;
    if (!this.crm.canCreateTask(connection)) return;
    if (await this.ledger.followUpTask(call)) return;
    const { matches } = await this.crm.matches(call);
    const ownerId = await this.crm.ownerId(mapping);
    const task = await this.crm.createTask(connection, {
      key: `${key}-follow-up`,
      subject: followUpSubject(record, matches[0], mapping.country),
      description: `${callDescription(record, mapping.country, call.legs)}\nCall activity: ${activityId}`,
      match: matches[0],
      ownerId,
      dueAt: record.endedAt ?? Date.now(),
    });
    if (!task) return;
    await this.ledger.saveFollowUpTask(call, task.id);
    this.log.info({ event: 'crm.follow_up_created', callId: record.callId, connection, taskId: task.id, created: task.created }, 'follow-up task created for a missed call');
  }
}
