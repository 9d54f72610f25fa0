import { Inject, Injectable } from '@nestjs/common';
import { Logger } from 'pino';
import { LOGGER } from '../../config/config.tokens';
import { callDescription, callSubject, withNotes } from '../../crm/call-summary';
import { StoredWrapUp } from '../call-state.service';
import { CallCrm, chosenRecord } from './call-crm';
import { CallLogOutcome, CallToLog, LogJob } from './call-to-log';
import { FinishLoggedCall } from './finish-logged-call.usecase';
import { LogLedger } from './log-ledger';
import { LogOutcomes } from './log-outcomes';

/**
 * Writes the call's activity: against the record the agent picked, else the best match, else a
 * contact created for the unknown caller (or no record at all); then marks it written.
 */
@Injectable()
export class WriteCallActivity {
  constructor(
    @Inject(CallCrm) private readonly crm: Pick<CallCrm, 'matches' | 'ownerId' | 'createContact' | 'logCall' | 'disposition'>,
    @Inject(LogLedger) private readonly ledger: Pick<LogLedger, 'saveMarker'>,
    private readonly finish: FinishLoggedCall,
    private readonly outcomes: LogOutcomes,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async write(job: Pick<LogJob, 'mayExist'>, call: CallToLog, wrapUp: StoredWrapUp | undefined): Promise<CallLogOutcome> {
    const { record, mapping, connection, key } = call;
    const { query, matches } = await this.crm.matches(call);
    const chosen = chosenRecord(wrapUp, matches);
    if (!chosen && !matches[0] && mapping.actions.unknownCaller === 'ignore') {
      return this.outcomes.done(record, { status: 'skipped', reason: 'unknown caller (unknownCaller: ignore)', connection });
    }
    const ownerId = await this.crm.ownerId(mapping);
    const match = chosen ?? matches.at(0) ?? (query && mapping.actions.unknownCaller === 'create-contact' ? await this.crm.createContact(call, query, ownerId) : undefined);
    const activity = await this.crm.logCall(connection, {
      key,
      record,
      match,
      ownerId,
      subject: callSubject(record, match, mapping.country),
      mayExist: job.mayExist,
      description: withNotes(wrapUp?.notes, callDescription(record, mapping.country, call.legs)),
      disposition: this.crm.disposition(connection, wrapUp?.disposition),
    });
    await this.ledger.saveMarker(call, { id: activity.id, url: activity.url, endedAt: record.endedAt });
    this.log.info(
      { event: 'call.logged', callId: record.callId, extension: record.extension, legs: call.legs?.length, connection, activityId: activity.id, created: activity.created, outcome: record.outcome },
      'call logged',
    );
    return this.finish.logged(call, activity, match, wrapUp);
  }
}
