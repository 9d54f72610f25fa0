import { Inject, Injectable } from '@nestjs/common';
import { MappingService } from '../../mappings/mapping.service';
import { activityKey } from '../activity-keys';
import { isLive, mergeLegs } from '../call-group';
import { CallRecord } from '../call-record';
import { CallStateService } from '../call-state.service';
import { CallLogOutcome, CallToLog } from './call-to-log';
import { LogOutcomes } from './log-outcomes';
import { PendingEvents } from './pending-events';

/** The call to log and the job's own leg; or what the job did instead (noted on the leg). */
export type FoundCall = { call: CallToLog; leg: CallRecord } | { outcome: CallLogOutcome };

/**
 * The call a job's leg belongs to. With `callLogging: per-call`, the legs of a CallID on the same
 * connection (ring group members, queue agents, transfer targets) are one call, owned by whoever
 * answered first; a leg that ends while another is still on the call stands down.
 */
@Injectable()
export class FindCallToLog {
  constructor(
    @Inject(CallStateService) private readonly calls: Pick<CallStateService, 'get' | 'legs' | 'keep'>,
    @Inject(MappingService) private readonly mappings: Pick<MappingService, 'resolve'>,
    private readonly outcomes: LogOutcomes,
    private readonly pending: PendingEvents,
  ) {}

  async find(callId: string, extension: string): Promise<FoundCall> {
    const record = await this.readRecord(callId, extension);
    if (!record) return { outcome: { status: 'skipped', reason: 'call record expired before it was logged' } };
    const mapping = this.mappings.resolve(record.extension);
    const connection = mapping.connection;
    if (!connection) return { outcome: await this.outcomes.done(record, { status: 'skipped', reason: 'extension not mapped to a CRM connection' }) };
    if (mapping.actions.callLogging === 'per-extension') return { call: { record, mapping, connection, key: activityKey(record.callId, record.extension, mapping) }, leg: record };
    // Only the legs logged the same way on the same connection make one activity.
    const legs = (await this.calls.legs(record.callId, record.extension)).filter((r) => {
      const m = r.extension === record.extension ? mapping : this.mappings.resolve(r.extension);
      return m.connection === connection && m.actions.callLogging === 'per-call';
    });
    const live = legs.filter(isLive);
    if (live.length > 0) {
      const reason = `part of a call still going on at ${live.map((r) => r.extension).join(', ')}: logged once when it ends`;
      // Not counted: the job of the leg that ends last logs the call.
      return { outcome: await this.outcomes.done(record, { status: 'skipped', reason, connection }, true) };
    }
    const merged = mergeLegs(legs);
    const owner = merged.owner === record.extension ? mapping : this.mappings.resolve(merged.owner);
    const key = activityKey(record.callId, record.extension, mapping);
    return { call: { record: merged.record, mapping: owner, connection, key, legs: legs.length > 1 ? merged.legs : undefined }, leg: record };
  }

  /**
   * The job's own leg, as the call state holds it. A log job exists because the leg hung up: a
   * record without its Hangup means the leg's pop jobs have not run yet (the screen-pop queue is
   * behind), and the events they carry are kept from them first.
   */
  private async readRecord(callId: string, extension: string): Promise<CallRecord | undefined> {
    const record = await this.calls.get(callId, extension);
    if (record?.endedAt !== undefined) return record;
    const pending = await this.pending.of(callId, extension);
    return pending.length ? this.calls.keep(callId, extension, pending) : record;
  }
}
