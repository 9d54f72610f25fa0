import { Inject, Injectable } from '@nestjs/common';
import { Logger } from 'pino';
import { LOGGER } from '../../config/config.tokens';
import { callDescription, callSubject, withNotes } from '../../crm/call-summary';
import { CallStateService } from '../call-state.service';
import { CallCrm, chosenRecord } from './call-crm';
import { CallLogOutcome, CallToLog } from './call-to-log';
import { LoggedCallCards } from './logged-call-cards';
import { LogLedger } from './log-ledger';
import { LogOutcomes } from './log-outcomes';

/**
 * Updates an already logged activity: with the wrap-up (notes, disposition, record) saved after
 * the log, or with a leg that ended after it (a transfer).
 */
@Injectable()
export class UpdateLoggedCall {
  constructor(
    @Inject(LogLedger) private readonly ledger: Pick<LogLedger, 'marker' | 'saveMarker'>,
    @Inject(CallCrm) private readonly crm: Pick<CallCrm, 'canUpdate' | 'matches' | 'updateCall' | 'disposition'>,
    @Inject(CallStateService) private readonly calls: Pick<CallStateService, 'wrapUp'>,
    private readonly cards: LoggedCallCards,
    private readonly outcomes: LogOutcomes,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async update(call: CallToLog, why = 'wrap-up saved after the call was logged'): Promise<CallLogOutcome> {
    const { record, mapping, connection } = call;
    const marker = await this.ledger.marker(call);
    if (!marker) return { status: 'skipped', reason: 'not logged yet: the log will carry the wrap-up', connection };
    if (!this.crm.canUpdate(connection)) return this.outcomes.done(record, { status: 'skipped', reason: `connection ${connection} cannot update logged calls`, connection }, true);
    const wrapUp = await this.calls.wrapUp(record.callId, connection);
    // Looked up only to move the activity to the record the agent picked.
    const { matches } = wrapUp?.recordId ? await this.crm.matches(call) : { matches: [] };
    const match = chosenRecord(wrapUp, matches);
    await this.crm.updateCall(connection, marker.id, {
      subject: callSubject(record, match ?? matches[0], mapping.country),
      description: withNotes(wrapUp?.notes, callDescription(record, mapping.country, call.legs)),
      disposition: this.crm.disposition(connection, wrapUp?.disposition),
      match,
    });
    await this.ledger.saveMarker(call, { ...marker, endedAt: Math.max(marker.endedAt ?? 0, record.endedAt ?? 0) });
    if (wrapUp) await this.cards.setWrapUp(call, { ...wrapUp, state: 'updated' });
    this.log.info({ event: 'call.updated', callId: record.callId, connection, activityId: marker.id, why }, 'logged call updated');
    return { status: 'updated', connection, activity: { id: marker.id, url: marker.url, created: false }, matchId: match?.id };
  }
}
