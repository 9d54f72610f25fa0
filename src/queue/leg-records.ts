import { Injectable } from '@nestjs/common';
import { CallStateService } from '../calls/call-state.service';
import { CallRecord } from '../calls/call-record';
import { CallEvent, EVENT_TYPES, eventId } from '../ingest/call-event';
import { EventQueueService } from './event-queue.service';

/**
 * A call-log job's view of its leg: the call state, plus the leg's events still carried by their
 * screen-pop jobs when the screen-pop queue is behind (a slow CRM holds its workers): those are
 * kept in the call state from their jobs, read through BullMQ's API, before the call is logged.
 */
@Injectable()
export class LegRecords {
  constructor(
    private readonly calls: CallStateService,
    private readonly queues: EventQueueService,
  ) {}

  /**
   * The record of (CallID, extension) for logging. A log job exists because the leg hung up: a
   * record without its Hangup means pop jobs have not run yet, and their events are kept from them.
   */
  async forLogging(callId: string, extension: string): Promise<CallRecord | undefined> {
    const record = await this.calls.get(callId, extension);
    if (record?.endedAt !== undefined) return record;
    const pending = await this.pendingEvents(callId, extension);
    return pending.length ? this.calls.keep(callId, extension, pending) : record;
  }

  /** The events of (CallID, extension) whose screen-pop jobs are still in the queue (not yet removed). */
  private async pendingEvents(callId: string, extension: string): Promise<CallEvent[]> {
    const jobs = await Promise.all(EVENT_TYPES.map((type) => this.queues.screenPop.getJob(eventId(type, callId, extension))));
    return jobs.flatMap((job) => (job ? [job.data.event] : []));
  }
}
