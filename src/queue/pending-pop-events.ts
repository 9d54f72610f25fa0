import { Injectable } from '@nestjs/common';
import { PendingEvents } from '../calls/log/pending-events';
import { CallEvent, EVENT_TYPES, eventId } from '../ingest/call-event';
import { EventQueueService } from './event-queue.service';

/** PendingEvents read from the screen-pop jobs (job id = event id), through BullMQ's API. */
@Injectable()
export class PendingPopEvents extends PendingEvents {
  constructor(private readonly queues: EventQueueService) {
    super();
  }

  async of(callId: string, extension: string): Promise<CallEvent[]> {
    const jobs = await Promise.all(EVENT_TYPES.map((type) => this.queues.screenPop.getJob(eventId(type, callId, extension))));
    return jobs.flatMap((job) => (job ? [job.data.event] : []));
  }
}
