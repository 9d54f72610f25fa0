import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Worker } from 'bullmq';
import { Logger } from 'pino';
import { APP_ENV, CONNECTOR_CONFIG, LOGGER } from '../config/config.tokens';
import { ConnectorConfig } from '../config/config.schema';
import { AppEnv } from '../config/env';
import { MetricsService } from '../metrics/metrics.service';
import { JOB_PROCESSORS, JobProcessor } from './job-processor';
import { QueueName } from './queues';
import { createRedis, RedisClient } from '../redis/redis-connection';
import { isConnectionError, redisOutageLog } from '../logging/redis-outage';

/** How long shutdown waits for in-flight jobs (orchestrators kill a process some 30 s after SIGTERM). */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Runs one BullMQ worker per queue. Refuses to start when a queue has no processor or two, and
 * on shutdown lets in-flight jobs finish (for up to SHUTDOWN_GRACE_MS) before the Redis clients
 * they use are closed. Each worker gets its connection from createRedis (a Cluster on
 * redis+cluster://); BullMQ duplicates it for its blocking reads and leaves the one given to it for
 * us to close.
 *
 * The queues themselves are @nestjs/bullmq's (queue.module.ts); its @Processor() workers are not
 * used: their options are fixed when the class is defined (ours come from REDIS_URL and the
 * configuration at start), and it closes them with no time limit. See docs/decisions/001.
 */
@Injectable()
export class WorkerHostService implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly workers: Worker[] = [];
  private readonly connections: RedisClient[] = [];

  constructor(
    @Inject(JOB_PROCESSORS) private readonly processors: JobProcessor[],
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    private readonly metrics: MetricsService,
  ) {
    for (const queue of Object.values(QueueName)) {
      const handlers = processors.filter((p) => p.queue === queue);
      if (handlers.length !== 1) {
        throw new Error(`Queue "${queue}" has ${handlers.length} processors; exactly one is required. ` + 'Add (or remove) it in the JOB_PROCESSORS list of src/queue/workers.module.ts.');
      }
    }
  }

  onApplicationBootstrap() {
    for (const processor of this.processors) {
      const connection = createRedis(this.env.redisUrl, 'worker', { connectionName: `vncc-worker-${processor.queue}` });
      connection.on('error', () => undefined); // the worker reports them ('error' below)
      connection.on('ready', () => redisOutageLog(this.log, this.env.redisUrl).recovered());
      this.connections.push(connection);
      const worker = new Worker(processor.queue, (job, token) => processor.process(job, token), {
        connection,
        prefix: this.env.redisPrefix,
        concurrency: processor.concurrency(),
        // A killed worker's jobs go back to the queue once their lock lapses.
        lockDuration: this.config.workers.lockDurationMs,
        stalledInterval: this.config.workers.lockDurationMs,
        // Our jobs are idempotent, so a job whose worker died several times is run again, not failed.
        maxStalledCount: 5,
      });
      // Redis not answering is one line for the whole process (src/logging/redis-outage.ts), not one per retry.
      worker.on('error', (err) =>
        isConnectionError(err)
          ? redisOutageLog(this.log, this.env.redisUrl).failed(err, `${processor.queue} worker`)
          : this.log.warn({ event: 'worker.error', queue: processor.queue, err: err.message }, 'worker error'),
      );
      const observe = (result: string, job?: { processedOn?: number; finishedOn?: number }) => {
        if (job?.processedOn && job.finishedOn) this.metrics.jobDuration.observe({ queue: processor.queue, result }, (job.finishedOn - job.processedOn) / 1000);
      };
      worker.on('completed', (job) => observe('completed', job));
      worker.on('failed', (job) => observe('failed', job));
      worker.on('failed', (job, err) => this.log.warn({ event: 'job.failed', queue: processor.queue, id: job?.id, attempt: job?.attemptsMade, err: err.message }, 'job failed'));
      this.workers.push(worker);
    }
  }

  async beforeApplicationShutdown() {
    const closed = Promise.all(this.workers.map((w) => w.close()));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((r) => (timer = setTimeout(r, SHUTDOWN_GRACE_MS, 'timeout')));
    // Past the grace, jobs still running are left to BullMQ's stalled-job recovery: another worker
    // runs them again, and call logging stays exactly once (marker, key look-up on a re-run).
    if ((await Promise.race([closed, grace])) === 'timeout') {
      this.log.warn({ event: 'shutdown.jobs_left', graceMs: SHUTDOWN_GRACE_MS }, 'in-flight jobs did not finish in time: another worker will run them again');
    }
    clearTimeout(timer);
  }

  async onApplicationShutdown() {
    await Promise.all(this.connections.map((c) => c.quit().catch(() => c.disconnect())));
  }
}
