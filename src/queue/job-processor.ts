import { Job } from 'bullmq';
import { QueueName } from './queues';

/** A queue's single handler. Processors are listed in workers.module.ts; the host checks one per queue. */
export interface JobProcessor<T = unknown> {
  readonly queue: QueueName;
  /** Worker concurrency for this queue. */
  concurrency(): number;
  /** `token` is the worker's lock token, needed to move the job to delayed (rate limits, pauses). */
  process(job: Job<T>, token?: string): Promise<unknown>;
}

export const JOB_PROCESSORS = Symbol('JOB_PROCESSORS');
