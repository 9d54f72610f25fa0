import { Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { PopCard } from '../calls/pop';
import { ConfigStore } from '../config/config.store';
import { JobProcessor } from './job-processor';
import { PopJobData, QueueName } from './queues';

/** The screen-pop queue's adapter: each job's event becomes an update of the agent's card (src/calls/pop/). */
@Injectable()
export class ScreenPopProcessor implements JobProcessor<PopJobData> {
  readonly queue = QueueName.ScreenPop;

  constructor(
    private readonly popCard: PopCard,
    private readonly store: ConfigStore,
  ) {}

  concurrency() {
    return this.store.current.workers.screenPopConcurrency;
  }

  process(job: Job<PopJobData>) {
    return this.popCard.pop(job.data.event);
  }
}
