import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Logger } from 'pino';
import { ConnectorConfig } from '../config/config.schema';
import { APP_ENV, CONNECTOR_CONFIG, LOGGER } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { CallEvent } from '../ingest/call-event';
import { MetricsService } from '../metrics/metrics.service';
import { LogCallJobData, PopJobData, QueueName, logCallJob, logCallJobId, popJob, updateCallJob } from './queues';
import { redisOutageLog } from '../logging/redis-outage';

/**
 * The producer side of both queues, used on the HTTP request path. Both queues (registered in
 * queue.module.ts, closed by @nestjs/bullmq on shutdown) share the request path's fail-fast
 * connection with the call state: a Hangup's two jobs, and the jobs of events arriving together,
 * go out in the same auto-pipelined socket write and come back in the same read, instead of one of
 * each per connection. The pop job carries the event to the worker, which keeps it in the call
 * state.
 */
@Injectable()
export class EventQueueService implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(QueueName.ScreenPop) readonly screenPop: Queue<PopJobData>,
    @InjectQueue(QueueName.CallLog) readonly callLog: Queue<LogCallJobData>,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
  ) {
    for (const q of [this.screenPop, this.callLog]) q.on('error', () => undefined);
    metrics.addCollector(async () => {
      for (const q of [this.screenPop, this.callLog]) {
        const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
        for (const [state, n] of Object.entries(counts)) metrics.queueJobs.set({ queue: q.name, state }, n);
      }
    });
  }

  async onApplicationBootstrap() {
    // Fail-fast connections refuse commands until connected; wait briefly so the first event is not a 503.
    const ready = Promise.all([this.screenPop.waitUntilReady(), this.callLog.waitUntilReady()]);
    const timeout = new Promise<'timeout'>((r) => setTimeout(r, 3000, 'timeout').unref());
    if ((await Promise.race([ready.catch(() => 'timeout' as const), timeout])) === 'timeout') {
      redisOutageLog(this.log, this.env.redisUrl).failed(new Error('no answer within 3 s of start'), 'ingest');
    }
  }

  /** Enqueues the work an event causes. Job ids make a second call with the same event a no-op. */
  async enqueue(event: CallEvent): Promise<void> {
    const pop = popJob(event);
    const adds: Promise<unknown>[] = [this.screenPop.add(pop.name, pop.data, pop.opts)];
    if (event.type === 'hangup') {
      const { workers } = this.config;
      const job = logCallJob(event, { settleMs: this.config.calls.hangupSettleMs, attempts: workers.callLogAttempts, backoffMs: workers.callLogBackoffMs });
      adds.push(this.callLog.add(job.name, job.data, job.opts));
    }
    await Promise.all(adds);
  }

  /**
   * Queues a call's log job again, to run at once (ops' replay of a call whose job was removed from
   * the queue, e.g. cleaned from a dashboard): the same job id, so the claim and the logged marker
   * keep it to one activity. Returns the job id.
   */
  async relog(callId: string, extension: string): Promise<string> {
    const { workers } = this.config;
    const job = logCallJob({ callId, extension, receivedAt: Date.now() }, { settleMs: 0, attempts: workers.callLogAttempts, backoffMs: workers.callLogBackoffMs });
    await this.callLog.add(job.name, job.data, job.opts);
    return logCallJobId(callId, extension);
  }

  /** Queues the update of a logged call with its wrap-up (saved at `savedAt`, default now). */
  async addWrapUpUpdate(callId: string, extension: string, activityKey: string, savedAt = Date.now()): Promise<void> {
    const { workers } = this.config;
    const job = updateCallJob(callId, extension, activityKey, savedAt, { attempts: workers.callLogAttempts, backoffMs: workers.callLogBackoffMs });
    await this.callLog.add(job.name, job.data, job.opts);
  }
}
