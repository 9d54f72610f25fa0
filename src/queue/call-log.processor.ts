import { Inject, Injectable } from '@nestjs/common';
import { DelayedError, Job, UnrecoverableError } from 'bullmq';
import { Logger } from 'pino';
import { CallLogOutcome, isPostponed, LogCall, LogJob, LogStep, PermanentLogFailure, Postponed, UpdateCallWithWrapUp } from '../calls/log';
import { LOGGER } from '../config/config.tokens';
import { ConfigStore } from '../config/config.store';
import { ConnectionPauseService } from '../crm/connection-pause.service';
import { EventQueueService } from './event-queue.service';
import { JobProcessor } from './job-processor';
import { JobName, LogCallJobData, QueueName } from './queues';

export type { CallLogOutcome } from '../calls/log';

/**
 * The call-log queue's adapter: turns a BullMQ job into the use cases' terms (src/calls/log/) and
 * their answer back into BullMQ's: a postponed job moves to delayed with the worker's token
 * (no attempt spent), a permanent CRM failure becomes an UnrecoverableError (no retries), any
 * other error is thrown for BullMQ to retry with back-off.
 */
@Injectable()
export class CallLogProcessor implements JobProcessor<LogCallJobData> {
  readonly queue = QueueName.CallLog;

  constructor(
    @Inject(LogCall) private readonly logCall: Pick<LogCall, 'run'>,
    @Inject(UpdateCallWithWrapUp) private readonly updateCall: Pick<UpdateCallWithWrapUp, 'run'>,
    @Inject(ConnectionPauseService) private readonly pauses: Pick<ConnectionPauseService, 'hold' | 'pausedUntil'>,
    @Inject(EventQueueService) private readonly queues: { callLog: Pick<EventQueueService['callLog'], 'getJob'> },
    @Inject(ConfigStore) private readonly store: Pick<ConfigStore, 'current'>,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  concurrency() {
    return this.store.current.workers.callLogConcurrency;
  }

  async process(job: Job<LogCallJobData>, token?: string): Promise<CallLogOutcome> {
    let step: LogStep;
    try {
      step = job.name === JobName.UpdateCall ? await this.updateCall.run(this.logJob(job)) : await this.logCall.run(this.logJob(job));
    } catch (err) {
      if (err instanceof PermanentLogFailure) throw new UnrecoverableError(err.message);
      throw err;
    }
    if (!isPostponed(step)) return step;
    return this.postpone(job, token, step);
  }

  private logJob(job: Job<LogCallJobData>): LogJob {
    // Only a run after a failure, a stall or a replay can find the call already in the CRM (a run
    // after the wrap-up window is its second start, but nothing was written before it).
    const starts = job.attemptsStarted - (job.data.heldForWrapUp ? 1 : 0);
    return {
      id: runningJobId(job),
      callId: job.data.callId,
      extension: job.data.extension,
      mayExist: starts > 1 || job.attemptsMade > 0 || job.stalledCounter > 0,
      attempt: job.attemptsMade + 1,
      attempts: job.opts.attempts ?? 1,
      exists: async (id) => !!(await this.queues.callLog.getJob(id)),
    };
  }

  private async postpone(job: Job<LogCallJobData>, token: string | undefined, step: Postponed): Promise<never> {
    if (step.postpone === 'pause') return this.waitForPause(job, token, step.connection, step.until, step.why);
    if (step.heldForWrapUp) await job.updateData({ ...job.data, heldForWrapUp: true });
    this.log.debug({ event: 'job.delayed', id: job.id, ms: Math.round(step.ms), why: step.why }, 'call log delayed');
    await job.moveToDelayed(Date.now() + Math.max(100, step.ms), token);
    throw new DelayedError();
  }

  /**
   * Holds the job until the connection's pause ends (plus jitter, so held jobs do not all wake at
   * once). A resume releases held jobs early; one that lands between our check and the move is
   * caught by the check after it.
   */
  private async waitForPause(job: Job, token: string | undefined, connection: string, until: number, why: string): Promise<never> {
    await this.pauses.hold(connection, runningJobId(job), until);
    this.log.debug({ event: 'job.delayed', id: job.id, until: new Date(until).toISOString(), why }, 'call log held by a pause');
    await job.moveToDelayed(Math.max(Date.now() + 100, until + Math.random() * 30_000), token);
    if (!(await this.pauses.pausedUntil(connection))) await job.promote().catch(() => undefined);
    throw new DelayedError();
  }
}

/** A job a worker runs was added to its queue, so it has its id. */
function runningJobId(job: Job): string {
  if (job.id === undefined) throw new Error(`A ${job.name} job reached the worker without an id; BullMQ gives every added job one.`);
  return job.id;
}
