import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Logger } from 'pino';
import { ConnectorConfig } from '../config/config.schema';
import { APP_ENV, CONNECTOR_CONFIG, LOGGER } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { CallEvent } from '../ingest/call-event';
import { MetricsService } from '../metrics/metrics.service';
import { failFastOptions } from './redis';
import { LogCallJobData, PopJobData, QueueName, logCallJob, popJob } from './queues';

/** The producer side of both queues, on fail-fast connections: used on the HTTP request path. */
@Injectable()
export class EventQueueService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly screenPop: Queue<PopJobData>;
  readonly callLog: Queue<LogCallJobData>;

  constructor(
    @Inject(APP_ENV) env: AppEnv,
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
  ) {
    const opts = { connection: { ...failFastOptions(env.redisUrl), connectionName: 'vncc-producer' }, prefix: env.redisPrefix };
    this.screenPop = new Queue<PopJobData>(QueueName.ScreenPop, opts);
    this.callLog = new Queue<LogCallJobData>(QueueName.CallLog, opts);
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
      this.log.warn({ event: 'redis.unavailable' }, 'Redis is not reachable yet: events get 503 until it is');
    }
  }

  /** Enqueues the work an event causes. Job ids make a second call with the same event a no-op. */
  async enqueue(event: CallEvent): Promise<void> {
    const pop = popJob(event);
    const adds: Promise<unknown>[] = [this.screenPop.add(pop.name, pop.data, pop.opts)];
    if (event.type === 'hangup') {
      const job = logCallJob(event, this.config.calls.hangupSettleMs, this.config.workers.callLogAttempts);
      adds.push(this.callLog.add(job.name, job.data, job.opts));
    }
    await Promise.all(adds);
  }

  async onApplicationShutdown() {
    await Promise.allSettled([this.screenPop.close(), this.callLog.close()]);
  }
}
