import { Inject, Injectable } from '@nestjs/common';
import { DelayedError, Job, UnrecoverableError } from 'bullmq';
import { Logger } from 'pino';
import { activityKey, LoggedMarker, loggedMarkerKey, logClaimKey } from '../calls/activity-keys';
import { CallLeg, isLive, mergeLegs } from '../calls/call-group';
import { CallRecord } from '../calls/call-record';
import { CardService } from '../calls/card.service';
import { CallStateService, StoredWrapUp, wrapUpView } from '../calls/call-state.service';
import { CallUpdate, CallUpdatePublisher } from '../calls/call-update.publisher';
import { APP_ENV, LOGGER } from '../config/config.tokens';
import { ConfigStore } from '../config/config.store';
import { AppEnv } from '../config/env';
import { callDescription, callSubject, followUpSubject, withNotes } from '../crm/call-summary';
import { ConnectionPauseService } from '../crm/connection-pause.service';
import { CrmError, CrmMatch, LoggedActivity, PhoneQuery } from '../crm/crm-provider';
import { CrmBatcher } from '../crm/crm-batcher.service';
import { CrmRegistry } from '../crm/crm-registry.service';
import { LookupService } from '../crm/lookup.service';
import { phoneQuery } from '../crm/phone';
import { shouldLog } from '../mappings/decide';
import { MappingService } from '../mappings/mapping.service';
import { ResolvedMapping } from '../mappings/resolve-mapping';
import { MetricsService } from '../metrics/metrics.service';
import { EventQueueService } from './event-queue.service';
import { JobProcessor } from './job-processor';
import { JobName, LogCallJobData, QueueName } from './queues';

export interface CallLogOutcome {
  status: 'logged' | 'skipped' | 'updated';
  reason?: string;
  connection?: string;
  activity?: LoggedActivity;
  matchId?: string;
}

const MARKER_TTL_SECONDS = 30 * 24 * 3600;

/** The call a job writes: the whole customer call (per-call logging) or one extension's part of it. */
interface CallToLog {
  record: CallRecord;
  /** The mapping that owns the activity: the owner leg's. */
  mapping: ResolvedMapping;
  connection: string;
  key: string;
  legs?: CallLeg[];
}

/**
 * After Hangup: writes the call to the CRM exactly once. A marker in Redis records success (so a
 * replayed job does nothing); the provider's own search by key covers a crash between the CRM's
 * create and the marker. Errors arrive classified: permanent ones fail the job at once, rate
 * limits and exhausted quotas move it to delayed (no attempt spent), the rest retry with back-off.
 *
 * A call that rang several extensions with one CallID (ring group, queue, transfer) is one
 * activity (`callLogging: per-call`): each leg's Hangup has a job, the jobs of legs that end while
 * another leg is still on the call stand down, and of the jobs that find the whole call over, the
 * first claims it and logs it, owned by whoever answered first.
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
    private readonly queues: EventQueueService,
    private readonly cards: CardService,
  ) {}

  concurrency() {
    return this.store.current.workers.callLogConcurrency;
  }

  async process(job: Job<LogCallJobData>, token?: string): Promise<CallLogOutcome> {
    const { callId, extension } = job.data;
    const record = await this.calls.get(callId, extension);
    if (!record) return { status: 'skipped', reason: 'call record expired before it was logged' };
    const call = await this.callToLog(record);
    if ('skip' in call) return this.done(record, { status: 'skipped', reason: call.skip, connection: call.connection }, call.silent);
    if (job.name === JobName.UpdateCall) return this.runGuarded(job, token, call, () => this.applyWrapUp(call));
    const decision = shouldLog(call.record, call.mapping);
    if (!decision.yes) return this.done(record, { status: 'skipped', reason: decision.reason });
    const { connection } = call;

    const claim = await this.claim(job, call);
    if (claim) return this.done(record, { status: 'skipped', reason: claim, connection }, true);

    const marker = await this.marker(call);
    if (marker) {
      // Already in the CRM: a replay, or a leg that ended after the call was logged (a transfer).
      if (call.legs && (call.record.endedAt ?? 0) > (marker.endedAt ?? Infinity)) return this.runGuarded(job, token, call, () => this.applyWrapUp(call, 'the call went on after it was logged'));
      await this.followUp(call, marker.id).catch((err: Error) => this.log.warn({ event: 'crm.follow_up_failed', callId, connection, err: err.message }, 'follow-up task not created'));
      return { status: 'logged', connection, activity: { id: marker.id, url: marker.url, created: false } };
    }

    const wrapUp = await this.calls.wrapUp(callId, connection);
    const window = await this.wrapUpWindow(call, wrapUp);
    if (window) {
      await job.updateData({ ...job.data, heldForWrapUp: true });
      await this.publishToLegs(call, { logsAt: window });
      return this.delay(job, token, window - Date.now(), 'wrap-up window');
    }
    return this.runGuarded(job, token, call, () => this.write(job, call, wrapUp));
  }

  /** The whole customer call this job's leg belongs to, or why this job does not log it. */
  private async callToLog(record: CallRecord): Promise<CallToLog | { skip: string; silent?: boolean; connection?: string }> {
    const mapping = this.mappings.resolve(record.extension);
    const connection = mapping.connection;
    if (!connection) return { skip: 'extension not mapped to a CRM connection' };
    if (mapping.actions.callLogging === 'per-extension') return { record, mapping, connection, key: activityKey(record.callId, record.extension, mapping) };
    // Only the legs logged the same way on the same connection make one activity.
    const legs = (await this.calls.legs(record.callId, record.extension)).filter((r) => {
      const m = r.extension === record.extension ? mapping : this.mappings.resolve(r.extension);
      return m.connection === connection && m.actions.callLogging === 'per-call';
    });
    const live = legs.filter(isLive);
    if (live.length > 0) {
      return { skip: `part of a call still going on at ${live.map((r) => r.extension).join(', ')}: logged once when it ends`, silent: true, connection };
    }
    const merged = mergeLegs(legs);
    const owner = merged.owner === record.extension ? mapping : this.mappings.resolve(merged.owner);
    return { record: merged.record, mapping: owner, connection, key: activityKey(record.callId, record.extension, mapping), legs: legs.length > 1 ? merged.legs : undefined };
  }

  /**
   * Several legs' jobs can find the call over at once (a missed ring-group call hangs up on every
   * member together): the first claims it, the others stand down. A claim whose job is gone (removed
   * from the queue) passes to the next job that asks. Returns why this job stands down, or undefined.
   */
  private async claim(job: Job, call: CallToLog): Promise<string | undefined> {
    const key = logClaimKey(this.env.redisPrefix, call.connection, call.key);
    const redis = this.crm.redis;
    const holder = await redis.set(key, job.id!, 'EX', MARKER_TTL_SECONDS, 'NX', 'GET');
    if (holder === null || holder === job.id) return undefined;
    if (!(await Job.fromId(this.queues.callLog, holder))) {
      await redis.set(key, job.id!, 'EX', MARKER_TTL_SECONDS);
      return undefined;
    }
    return `logged once for the whole call, by job ${holder}`;
  }

  private async marker(call: CallToLog): Promise<LoggedMarker | undefined> {
    const json = await this.crm.redis.get(loggedMarkerKey(this.env.redisPrefix, call.connection, call.key));
    return json ? (JSON.parse(json) as LoggedMarker) : undefined;
  }

  /**
   * When an answered call waits for the agent's wrap-up before it is logged: while the window
   * after Hangup runs, unless the agent finished (`done`), and only when a page watches the owner's
   * extension (nobody can wrap up otherwise). Returns the end of the window, or undefined.
   */
  private async wrapUpWindow(call: CallToLog, wrapUp: StoredWrapUp | undefined): Promise<number | undefined> {
    const windowMs = this.store.current.calls.wrapUpWindowSeconds * 1000;
    if (!windowMs || call.record.outcome !== 'answered' || wrapUp?.done || !this.crm.get(call.connection).updateCall) return undefined;
    const until = (call.record.endedAt ?? Date.now()) + windowMs;
    if (until <= Date.now() + 100) return undefined;
    const watched = await this.updates.watched(call.record.extension).catch(() => true);
    return watched === false ? undefined : until;
  }

  private async write(job: Job<LogCallJobData>, call: CallToLog, wrapUp: StoredWrapUp | undefined): Promise<CallLogOutcome> {
    const { record, mapping, connection, key } = call;
    const query = phoneQuery(record.remoteNumber, mapping.country);
    // Usually a cache hit (the Dial-In looked the number up); otherwise batched with other calls' lookups.
    const matches = query ? (await this.lookups.lookup(connection, query, { bulk: true })).matches : [];
    const chosen = this.chosenRecord(wrapUp, matches);
    if (!chosen && !matches[0] && mapping.actions.unknownCaller === 'ignore') {
      return this.done(record, { status: 'skipped', reason: 'unknown caller (unknownCaller: ignore)', connection });
    }
    const ownerId = await this.mappings.ownerId(mapping);
    const match = chosen ?? matches[0] ?? (query && mapping.actions.unknownCaller === 'create-contact' ? await this.createContact(connection, key, record, query, ownerId) : undefined);
    // Only a run after a failure, a stall or a replay can find the call already in the CRM (a run
    // after the wrap-up window is its second start, but nothing was written before it).
    const starts = job.attemptsStarted - (job.data.heldForWrapUp ? 1 : 0);
    // Batched with the other calls logged on this connection within the batch's linger time.
    const activity = await this.metrics.timeCrm(connection, 'logCall', () =>
      this.batcher.logCall(connection, {
        key,
        record,
        match,
        ownerId,
        subject: callSubject(record, match, mapping.country),
        mayExist: starts > 1 || job.attemptsMade > 0 || job.stalledCounter > 0,
        description: withNotes(wrapUp?.notes, callDescription(record, mapping.country, call.legs)),
        disposition: this.dispositionValue(connection, wrapUp?.disposition),
      }),
    );
    const marker: LoggedMarker = { id: activity.id, url: activity.url, endedAt: record.endedAt };
    await this.crm.redis.set(loggedMarkerKey(this.env.redisPrefix, connection, key), JSON.stringify(marker), 'EX', MARKER_TTL_SECONDS);
    this.log.info(
      { event: 'call.logged', callId: record.callId, extension: record.extension, legs: call.legs?.length, connection, activityId: activity.id, created: activity.created, outcome: record.outcome },
      'call logged',
    );
    // A wrap-up saved while the log was being written is applied as an update.
    const latest = await this.calls.wrapUp(record.callId, connection);
    if (latest && latest.savedAt === wrapUp?.savedAt) await this.setWrapUpState(call, { ...latest, state: 'logged' });
    else if (latest) await this.queues.addWrapUpUpdate(record.callId, record.extension, call.key);
    await this.publishToLegs(call, { activity: { connection, id: activity.id, url: activity.url } });
    await this.followUp(call, activity.id).catch((err: Error) => this.log.warn({ event: 'crm.follow_up_failed', callId: record.callId, connection, err: err.message }, 'follow-up task not created'));
    const outcome: CallLogOutcome = { status: 'logged', connection, activity, matchId: match?.id };
    await Promise.all((call.legs?.map((l) => l.extension) ?? []).filter((e) => e !== record.extension).map((e) => this.calls.annotate(record.callId, e, 'log', { ...outcome, at: Date.now() })));
    return this.done(record, outcome);
  }

  /** The wrap-up (notes, disposition, record) of an already logged call, applied as an update of its activity. */
  private async applyWrapUp(call: CallToLog, why = 'wrap-up saved after the call was logged'): Promise<CallLogOutcome> {
    const { record, mapping, connection } = call;
    const marker = await this.marker(call);
    if (!marker) return { status: 'skipped', reason: 'not logged yet: the log will carry the wrap-up', connection };
    const provider = this.crm.get(connection);
    if (!provider.updateCall) return this.done(record, { status: 'skipped', reason: `connection ${connection} cannot update logged calls`, connection }, true);
    const wrapUp = await this.calls.wrapUp(record.callId, connection);
    const query = phoneQuery(record.remoteNumber, mapping.country);
    const matches = wrapUp?.recordId && query ? (await this.lookups.lookup(connection, query, { bulk: true })).matches : [];
    const match = this.chosenRecord(wrapUp, matches);
    await this.metrics.timeCrm(connection, 'updateCall', () =>
      provider.updateCall!(marker.id, {
        subject: callSubject(record, match ?? matches[0], mapping.country),
        description: withNotes(wrapUp?.notes, callDescription(record, mapping.country, call.legs)),
        disposition: this.dispositionValue(connection, wrapUp?.disposition),
        match,
      }),
    );
    await this.crm.redis.set(
      loggedMarkerKey(this.env.redisPrefix, connection, call.key),
      JSON.stringify({ ...marker, endedAt: Math.max(marker.endedAt ?? 0, record.endedAt ?? 0) }),
      'EX',
      MARKER_TTL_SECONDS,
    );
    if (wrapUp) await this.setWrapUpState(call, { ...wrapUp, state: 'updated' });
    this.log.info({ event: 'call.updated', callId: record.callId, connection, activityId: marker.id, why }, 'logged call updated');
    return { status: 'updated', connection, activity: { id: marker.id, url: marker.url, created: false }, matchId: match?.id };
  }

  private chosenRecord(wrapUp: StoredWrapUp | undefined, matches: CrmMatch[]): CrmMatch | undefined {
    if (!wrapUp?.recordId) return undefined;
    return matches.find((m) => m.id === wrapUp.recordId) ?? (wrapUp.created?.id === wrapUp.recordId ? wrapUp.created : undefined);
  }

  private dispositionValue(connection: string, key: string | undefined): string | undefined {
    return key ? this.crm.dispositions(connection).find((d) => d.key === key)?.value : undefined;
  }

  /** A missed inbound call under `followUpMissed`: one follow-up task for its owner, due that day. */
  private async followUp(call: CallToLog, activityId: string): Promise<void> {
    const { record, mapping, connection, key } = call;
    if (!mapping.actions.followUpMissed || record.direction !== 'inbound' || record.answeredAt !== undefined) return;
    const provider = this.crm.get(connection);
    if (!provider.createTask) return;
    const done = `${loggedMarkerKey(this.env.redisPrefix, connection, key)}:follow-up`;
    if (await this.crm.redis.get(done)) return;
    const query = phoneQuery(record.remoteNumber, mapping.country);
    const matches = query ? (await this.lookups.lookup(connection, query, { bulk: true })).matches : [];
    const ownerId = await this.mappings.ownerId(mapping);
    const task = await this.metrics.timeCrm(connection, 'createTask', () =>
      provider.createTask!({
        key: `${key}-follow-up`,
        subject: followUpSubject(record, matches[0], mapping.country),
        description: `${callDescription(record, mapping.country, call.legs)}\nCall activity: ${activityId}`,
        match: matches[0],
        ownerId,
        dueAt: record.endedAt ?? Date.now(),
      }),
    );
    await this.crm.redis.set(done, task.id, 'EX', MARKER_TTL_SECONDS);
    this.log.info({ event: 'crm.follow_up_created', callId: record.callId, connection, taskId: task.id, created: task.created }, 'follow-up task created for a missed call');
  }

  /** The call (or its update) failed for good: a wrap-up waiting for it says so on the cards, with the reason. */
  private async wrapUpFailed(call: CallToLog, reason: string): Promise<void> {
    const wrapUp = await this.calls.wrapUp(call.record.callId, call.connection);
    if (wrapUp && wrapUp.state === 'saved') await this.setWrapUpState(call, { ...wrapUp, state: 'failed', reason: `Not written to the CRM: ${reason}. Ops can replay it.` });
  }

  private async setWrapUpState(call: CallToLog, wrapUp: StoredWrapUp): Promise<void> {
    await this.calls.saveWrapUp(call.record.callId, call.connection, wrapUp);
    await this.publishToLegs(call, { wrapUp: wrapUpView(wrapUp) });
  }

  /** An update of the logged call on the card of every extension the call rang. */
  private async publishToLegs(call: CallToLog, what: Pick<CallUpdate, 'activity' | 'wrapUp'> & { logsAt?: number }): Promise<void> {
    const extensions = call.legs?.map((l) => l.extension) ?? [call.record.extension];
    const records = await Promise.all(extensions.map((e) => (e === call.record.extension && !call.legs ? call.record : this.calls.get(call.record.callId, e))));
    await Promise.all(
      records.map((record) => {
        if (!record) return undefined;
        const mapping = this.mappings.resolve(record.extension);
        return this.updates
          .publish({
            event: 'hangup',
            record,
            publishedAt: Date.now(),
            ...(what.activity ? { activity: what.activity } : {}),
            ...(what.wrapUp ? { wrapUp: what.wrapUp } : {}),
            ...(what.logsAt ? { offers: this.cards.offers(mapping, record, { internal: false, logsAt: what.logsAt }) } : {}),
            labels: this.cards.labels(mapping),
          })
          .catch(() => undefined);
      }),
    );
  }

  private async done(record: CallRecord, outcome: CallLogOutcome, quiet = false): Promise<CallLogOutcome> {
    await this.calls.annotate(record.callId, record.extension, 'log', { ...outcome, at: Date.now() });
    if (!quiet) this.metrics.calls.inc({ result: outcome.status, reason: outcome.reason ?? '' });
    if (outcome.status === 'skipped') this.log.info({ event: 'call.skipped', callId: record.callId, extension: record.extension, reason: outcome.reason }, 'call not logged');
    return outcome;
  }

  /** Runs a CRM write with the errors classified: fail, delay, pause or retry. */
  private async runGuarded(job: Job<LogCallJobData>, token: string | undefined, call: CallToLog, work: () => Promise<CallLogOutcome>): Promise<CallLogOutcome> {
    const { record, connection } = call;
    const paused = await this.pauses.pausedUntil(connection);
    if (paused) return this.waitForPause(job, token, connection, paused.until, `connection ${connection} paused: ${paused.reason}`);
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof CrmError)) throw await this.lastAttempt(job, call, err as Error);
      switch (err.kind) {
        case 'permanent':
          await this.calls.annotate(record.callId, record.extension, 'log', { status: 'failed', reason: err.message, connection, at: Date.now() });
          await this.wrapUpFailed(call, err.message);
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
          throw await this.lastAttempt(job, call, err);
      }
    }
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
  private async lastAttempt(job: Job, call: CallToLog, err: Error): Promise<Error> {
    const { record, connection } = call;
    if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
      const reason = `${err.message} (attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1})`;
      await this.calls.annotate(record.callId, record.extension, 'log', { status: 'failed', reason, connection, at: Date.now() }).catch(() => undefined);
      await this.wrapUpFailed(call, reason).catch(() => undefined);
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
