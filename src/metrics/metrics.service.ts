import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics. Labels are bounded sets (event type, status code, queue, connection,
 * operation, outcome): never CallIDs, numbers or extensions.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly eventsReceived = new Counter({
    name: 'vncc_events_received_total',
    help: 'Call Events received, by event type and HTTP status answered',
    labelNames: ['type', 'status'] as const,
    registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: 'vncc_job_duration_seconds',
    help: 'Time a job spent being processed, by queue and result',
    labelNames: ['queue', 'result'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly queueJobs = new Gauge({
    name: 'vncc_queue_jobs',
    help: 'Jobs per queue and state (waiting, active, delayed, failed)',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });
  readonly crmRequests = new Histogram({
    name: 'vncc_crm_request_duration_seconds',
    help: 'CRM operations by connection, operation and result (ok or the error kind)',
    labelNames: ['connection', 'operation', 'result'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly lookupCache = new Counter({
    name: 'vncc_lookup_cache_total',
    help: 'CRM lookups answered from the cache (hit) or by the CRM (miss)',
    labelNames: ['connection', 'result'] as const,
    registers: [this.registry],
  });
  readonly popLatency = new Histogram({
    name: 'vncc_screen_pop_latency_seconds',
    help: 'From the event arriving to its card update being published, by lookup status',
    labelNames: ['lookup'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5],
    registers: [this.registry],
  });
  readonly calls = new Counter({
    name: 'vncc_calls_total',
    help: 'Finished calls by what happened to them: logged, skipped (with the reason) or failed',
    labelNames: ['result', 'reason'] as const,
    registers: [this.registry],
  });

  readonly spooling = new Gauge({
    name: 'vncc_spool_active',
    help: '1 while events go to the local spool (Redis cannot take them) or the spool still holds events to replay',
    registers: [this.registry],
  });
  readonly spoolEvents = new Gauge({
    name: 'vncc_spool_events',
    help: 'Events in the local spool, waiting to be replayed into Redis',
    registers: [this.registry],
  });
  readonly spoolOldestAgeSeconds = new Gauge({
    name: 'vncc_spool_oldest_age_seconds',
    help: 'Age of the oldest event in the local spool (0 when empty)',
    registers: [this.registry],
  });
  readonly spoolAppends = new Counter({
    name: 'vncc_spool_appends_total',
    help: 'Events offered to the local spool, by result: ok (durable), full (over SPOOL_MAX_MB), error (the disk refused)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly spoolReplayed = new Counter({
    name: 'vncc_spool_replayed_total',
    help: 'Events replayed from the local spool into Redis',
    registers: [this.registry],
  });

  /** Called on every scrape, so gauges show the moment of the scrape. */
  private collectors: (() => Promise<void>)[] = [];

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'vncc_' });
  }

  addCollector(fn: () => Promise<void>) {
    this.collectors.push(fn);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    await Promise.allSettled(this.collectors.map((c) => c()));
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Times a CRM operation and records its result (ok, or the CrmError kind). */
  async timeCrm<T>(connection: string, operation: string, fn: () => Promise<T>): Promise<T> {
    const end = this.crmRequests.startTimer({ connection, operation });
    try {
      const result = await fn();
      end({ result: 'ok' });
      return result;
    } catch (err) {
      end({ result: (err as { kind?: string }).kind ?? 'error' });
      throw err;
    }
  }
}
