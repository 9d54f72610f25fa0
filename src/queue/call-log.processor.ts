import { Inject, Injectable } from '@nestjs/common';
import { DelayedError, Job, UnrecoverableError } from 'bullmq';
import { Logger } from 'pino';
import { CallRecord } from '../calls/call-record';
import { CallStateService } from '../calls/call-state.service';
import { CallUpdatePublisher } from '../calls/call-update.publisher';
import { APP_ENV, LOGGER } from '../config/config.tokens';
import { ConfigStore } from '../config/config.store';
import { AppEnv } from '../config/env';
import { callDescription, callSubject } from '../crm/call-summary';
import { ConnectionPauseService } from '../crm/connection-pause.service';
import { CrmError, CrmMatch, LoggedActivity, PhoneQuery } from '../crm/crm-provider';
import { CrmBatcher } from '../crm/crm-batcher.service';
import { CrmRegistry } from '../crm/crm-registry.service';
import { LookupService } from '../crm/lookup.service';
import { phoneQuery } from '../crm/phone';
import { escapeIdPart } from '../ingest/call-event';
import { shouldLog } from '../mappings/decide';
import { MappingService } from '../mappings/mapping.service';
import { MetricsService } from '../metrics/metrics.service';
import { JobProcessor } from './job-processor';
import { LogCallJobData, QueueName } from './queues';

export interface CallLogOutcome {
  status: 'logged' | 'skipped';
  reason?: string;
  connection?: string;
  activity?: LoggedActivity;
  matchId?: string;
}

const MARKER_TTL_SECONDS = 30 * 24 * 3600;

/**
 * After Hangup: writes the call to the CRM exactly once. A marker in Redis records success (so a
 * replayed job does nothing); the provider's own search by key covers a crash between the CRM's
 * create and the marker. Errors arrive classified: permanent ones fail the job at once, rate
 * limits and exhausted quotas move it to delayed (no attempt spent), the rest retry with back-off.
 */
@Injectable()
export class CallLogProcessor implements JobProcessor<LogCallJobData> {
  readonly queue = QueueName.CallLog;

  constructor(
    private readonly calls: CallStateService,
    private readonly mappings: MappingService,
    private readonly crm: CrmRegistry,
    private readonly lookups: LookupService,
    private readonly pauses: ConnectionPauseService,
    private readonly updates: CallUpdatePublisher,
    private readonly store: ConfigStore,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly metrics: MetricsService,
    private readonly batcher: CrmBatcher,
  ) {}

  concurrency() {
    return this.store.current.workers.callLogConcurrency;
  }

  async process(job: Job<LogCallJobData>, token?: string): Promise<CallLogOutcome> {
    const { callId, extension } = job.data;
    const record = await this.calls.get(callId, extension);
    if (!record) return { status: 'skipped', reason: 'call record expired before it was logged' };
    const mapping = this.mappings.resolve(extension);
    const decision = shouldLog(record, mapping);
    if (!decision.yes) return this.done(record, { status: 'skipped', reason: decision.reason });
    const connection = mapping.connection!;
    const key = `vn-${escapeIdPart(callId)}-${escapeIdPart(extension)}`;
    const marker = `${this.env.redisPrefix}:logged:${connection}:${key}`;

    const already = await this.crm.redis.get(marker);
    if (already) return { status: 'logged', connection, activity: { ...(JSON.parse(already) as LoggedActivity), created: false } };

    const paused = await this.pauses.pausedUntil(connection);
    if (paused) return this.waitForPause(job, token, connection, paused.until, `connection ${connection} paused: ${paused.reason}`);

    try {
      const query = phoneQuery(record.remoteNumber, mapping.country);
      // Usually a cache hit (the Dial-In looked the number up); otherwise batched with other calls' lookups.
      const matches = query ? (await this.lookups.lookup(connection, query, { bulk: true })).matches : [];
      if (!matches[0] && mapping.actions.unknownCaller === 'ignore') {
        return this.done(record, { status: 'skipped', reason: 'unknown caller (unknownCaller: ignore)', connection });
      }
      const ownerId = await this.mappings.ownerId(mapping);
      const match = matches[0] ?? (query && mapping.actions.unknownCaller === 'create-contact' ? await this.createContact(connection, key, record, query, ownerId) : undefined);
      // Batched with the other calls logged on this connection within the batch's linger time.
      const activity = await this.metrics.timeCrm(connection, 'logCall', () => this.batcher.logCall(connection, {
        key,
        record,
        match,
        ownerId,
        subject: callSubject(record, match, mapping.country),
        // Only a run after a failure, a stall or a replay can find the call already in the CRM.
        mayExist: job.attemptsStarted > 1 || job.attemptsMade > 0 || job.stalledCounter > 0,
        description: callDescription(record, mapping.country),
      }));
      await this.crm.redis.set(marker, JSON.stringify({ id: activity.id, url: activity.url }), 'EX', MARKER_TTL_SECONDS);
      await this.updates.publish({ event: 'hangup', record, publishedAt: Date.now(), activity: { connection, id: activity.id, url: activity.url } }).catch(() => undefined);
      this.log.info({ event: 'call.logged', callId, extension, connection, activityId: activity.id, created: activity.created, outcome: record.outcome }, 'call logged');
      return this.done(record, { status: 'logged', connection, activity, matchId: match?.id });
    } catch (err) {
      if (!(err instanceof CrmError)) throw await this.lastAttempt(job, record, connection, err as Error);
      switch (err.kind) {
        case 'permanent':
          await this.calls.annotate(callId, extension, 'log', { status: 'failed', reason: err.message, connection, at: Date.now() });
          this.metrics.calls.inc({ result: 'failed', reason: 'permanent CRM error' });
          throw new UnrecoverableError(`${connection}: ${err.message}`);
        case 'rate-limited':
          return this.delay(job, token, err.opts.retryAfterMs ?? 10_000, `${connection} rate limit: ${err.message}`);
        case 'quota-exhausted': {
          const until = Date.now() + (err.opts.retryAfterMs ?? 3600_000);
          await this.pauses.pause(connection, until, err.message);
          this.log.warn({ event: 'crm.paused', connection, until: new Date(until).toISOString(), reason: err.message }, 'CRM quota exhausted: call logging paused');
          return this.waitForPause(job, token, connection, until, `${connection} quota exhausted`);
        }
        default:
          // retryable and auth: BullMQ retries with exponential back-off and jitter
          throw await this.lastAttempt(job, record, connection, err);
      }
    }
  }

  private async done(record: CallRecord, outcome: CallLogOutcome): Promise<CallLogOutcome> {
    await this.calls.annotate(record.callId, record.extension, 'log', { ...outcome, at: Date.now() });
    this.metrics.calls.inc({ result: outcome.status, reason: outcome.reason ?? '' });
    if (outcome.status === 'skipped') this.log.info({ event: 'call.skipped', callId: record.callId, extension: record.extension, reason: outcome.reason }, 'call not logged');
    return outcome;
  }

  /** The unknown caller becomes a CRM record (once per call, across retries) that the call is logged against. */
  private async createContact(connection: string, key: string, record: CallRecord, query: PhoneQuery, ownerId?: string): Promise<CrmMatch | undefined> {
    const provider = this.crm.get(connection);
    // Config validation refuses create-contact on a CRM type without it; this only guards a provider swapped mid-job.
    if (!provider.createContact) return undefined;
    const name = record.direction === 'inbound' ? record.caller.name : undefined;
    const created = await this.metrics.timeCrm(connection, 'createContact', () => provider.createContact!({ key, number: query.e164 ?? query.raw, name, ownerId }));
    // The cached "not found" would hide the new record from this caller's next call.
    await this.lookups.invalidate(connection, query).catch(() => undefined);
    this.log.info({ event: 'crm.contact_created', callId: record.callId, extension: record.extension, connection, contactId: created.id }, 'contact created for an unknown caller');
    return created;
  }

  /** On its last attempt a retryable failure is final: noted on the call and counted, like a permanent one. */
  private async lastAttempt(job: Job, record: CallRecord, connection: string, err: Error): Promise<Error> {
    if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
      const reason = `${err.message} (attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1})`;
      await this.calls.annotate(record.callId, record.extension, 'log', { status: 'failed', reason, connection, at: Date.now() }).catch(() => undefined);
      this.metrics.calls.inc({ result: 'failed', reason: 'retries exhausted' });
    }
    return err;
  }

  /** Moves the job back to delayed without spending an attempt. */
  private async delay(job: Job, token: string | undefined, ms: number, why: string): Promise<never> {
    this.log.debug({ event: 'job.delayed', id: job.id, ms: Math.round(ms), why }, 'call log delayed');
    await job.moveToDelayed(Date.now() + Math.max(100, ms), token);
    throw new DelayedError();
  }

  /**
   * Holds the job until the connection's pause ends (plus jitter, so held jobs do not all wake at
   * once). A resume releases held jobs early; one that lands between our check and the move is
   * caught by the check after it.
   */
  private async waitForPause(job: Job, token: string | undefined, connection: string, until: number, why: string): Promise<never> {
    await this.pauses.hold(connection, job.id!, until);
    this.log.debug({ event: 'job.delayed', id: job.id, until: new Date(until).toISOString(), why }, 'call log held by a pause');
    await job.moveToDelayed(Math.max(Date.now() + 100, until + Math.random() * 30_000), token);
    if (!(await this.pauses.pausedUntil(connection))) await job.promote().catch(() => undefined);
    throw new DelayedError();
  }
}
