import { Inject, Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { CallRecord } from '../calls/call-record';
import { CallStateService, RECENT_CALLS_KEPT } from '../calls/call-state.service';
import { APP_ENV } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { EventQueueService } from '../queue/event-queue.service';
import { JobName, LogCallJobData, logCallJobId } from '../queue/queues';
import { RedisClient } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { REQUEST_REDIS } from '../redis/redis.tokens';
import { ShownCall, shownCall } from './shown-call';

/** Why a call was not logged, as ops group them. */
export type UnloggedCategory = 'crm-refused' | 'owner-not-found' | 'retries-exhausted' | 'unmapped' | 'unknown-caller-ignored' | 'record-expired' | 'off-by-rule' | 'other';

export const CATEGORY_LABELS: Record<UnloggedCategory, { label: string; hint: string }> = {
  'owner-not-found': { label: 'Owner not found', hint: 'The mapping names an owner the CRM does not have. Fix the owner in Mappings (or the CRM user), then replay.' },
  'crm-refused': { label: 'CRM refused it', hint: 'The CRM answered with an error that a retry cannot fix. Fix the cause in the CRM or the mapping, then replay.' },
  'retries-exhausted': { label: 'Retries exhausted', hint: 'The CRM kept failing (down, credentials, time-outs) through every attempt. Replay once it answers again.' },
  unmapped: { label: 'Unmapped extension', hint: 'No mapping rule gives the extension a connection. Add one in Mappings, then replay.' },
  'unknown-caller-ignored': { label: 'Unknown caller ignored', hint: 'No CRM record matched and the rule says unknownCaller: ignore. Change the action or add the contact, then replay.' },
  'record-expired': { label: 'Call record expired', hint: "The call's events were gone before it was logged (calls.recordTtlHours). It cannot be replayed." },
  'off-by-rule': { label: 'Not logged by rule', hint: 'The mapping turns logging off for such calls (internal calls, logMissed, logOutbound…). Change the rule to log them, then replay.' },
  other: { label: 'Other', hint: 'See the reason.' },
};

/** What the workers noted on a call's `log` (see CallLogProcessor). */
interface LogNote {
  status: 'logged' | 'skipped' | 'failed' | 'updated' | 'discarded';
  reason?: string;
  connection?: string;
  at?: number;
  activity?: { id: string; url?: string };
  was?: LogNote;
}

export interface UnloggedCall {
  /** The call-log job: what replay and discard act on. */
  jobId: string;
  callId: string;
  extension: string;
  category: UnloggedCategory;
  status: 'failed' | 'skipped';
  reason: string;
  connection?: string;
  at?: string;
  attempts?: string;
  /** Replay re-runs this same job (failed, or completed with a skip); a removed job cannot be replayed. */
  replayable: boolean;
  call?: ShownCall;
}

/**
 * Skips that are not "unlogged": a leg of a customer call another job logs once for the whole call.
 * They are the call-log use cases' own wording (src/calls/log/).
 */
const COVERED_BY_ANOTHER_JOB = [/^part of a call still going on/, /^logged once for the whole call/];

/**
 * The unlogged-calls inbox: failed call-log jobs and calls the log job skipped, grouped by why,
 * with replay and discard. Replay only ever re-runs the call's own (keyed) job, never adds one, and
 * the processor's logged marker makes a call already in the CRM a no-op: nothing here logs twice.
 */
@Injectable()
export class UnloggedCallsService {
  constructor(
    private readonly calls: CallStateService,
    private readonly queues: EventQueueService,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(REQUEST_REDIS) private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async list(): Promise<UnloggedCall[]> {
    const found = new Map<string, UnloggedCall>();
    // A job removed between BullMQ listing it and reading it comes back undefined, whatever the type says.
    const failed = (await this.queues.callLog.getFailed(0, 999)) as (Job<LogCallJobData> | undefined)[];
    for (const job of failed) {
      if (!job?.id) continue;
      const notes = await this.calls.annotations(job.data.callId, job.data.extension);
      const note = notes.log as LogNote | undefined;
      if (note?.status === 'discarded') continue;
      const reason = (note?.status === 'failed' && note.reason) || job.failedReason || 'failed';
      const attemptsAllowed = job.opts.attempts ?? 1;
      // The processor notes "(attempt N of M)" when the last attempt of a retryable failure fails.
      const exhausted = / \(attempt \d+ of \d+\)$/.test(reason) || (note?.status !== 'failed' && job.attemptsMade >= attemptsAllowed && attemptsAllowed > 1);
      found.set(job.id, {
        jobId: job.id,
        callId: job.data.callId,
        extension: job.data.extension,
        category: exhausted ? 'retries-exhausted' : failureCategory(reason),
        status: 'failed',
        reason: job.name === JobName.UpdateCall ? `wrap-up update: ${reason}` : reason,
        connection: note?.connection,
        at: new Date(job.finishedOn ?? note?.at ?? job.timestamp).toISOString(),
        attempts: `${job.attemptsMade} of ${attemptsAllowed}`,
        replayable: true,
        call: this.show(await this.calls.get(job.data.callId, job.data.extension)),
      });
    }
    for (const call of await this.calls.recent(RECENT_CALLS_KEPT)) {
      const note = call.log as LogNote | undefined;
      if (note?.status === 'failed' && note.reason) {
        await this.failedWithoutJob(found, call, note, note.reason);
        continue;
      }
      if (note?.status !== 'skipped' || !note.reason) continue;
      const reason = note.reason;
      if (COVERED_BY_ANOTHER_JOB.some((re) => re.test(reason))) continue;
      const jobId = logCallJobId(call.callId, call.extension);
      if (found.has(jobId)) continue;
      const job = await Job.fromId<LogCallJobData>(this.queues.callLog, jobId);
      const { pop: _pop, log: _log, ...record } = call;
      found.set(jobId, {
        jobId,
        callId: call.callId,
        extension: call.extension,
        category: skipCategory(reason),
        status: 'skipped',
        reason,
        connection: note.connection,
        at: note.at ? new Date(note.at).toISOString() : undefined,
        // A completed job runs again; a job removed from the queue is queued again.
        replayable: !job || (await job.isCompleted()),
        call: this.show(record),
      });
    }
    return [...found.values()].sort((a, b) => (b.at ?? '').localeCompare(a.at ?? ''));
  }

  /**
   * A call whose last log attempt failed, but whose failed job is gone (cleaned from a dashboard, or
   * past the failed-job retention): its note on the call state still says why, so it stays in the
   * inbox, and a replay queues its job again.
   */
  private async failedWithoutJob(found: Map<string, UnloggedCall>, call: CallRecord & { pop?: unknown; log?: unknown }, note: LogNote, reason: string): Promise<void> {
    const jobId = logCallJobId(call.callId, call.extension);
    if (found.has(jobId) || (await Job.fromId(this.queues.callLog, jobId))) return;
    const { pop: _pop, log: _log, ...record } = call;
    found.set(jobId, {
      jobId,
      callId: call.callId,
      extension: call.extension,
      category: / \(attempt \d+ of \d+\)$/.test(reason) ? 'retries-exhausted' : failureCategory(reason),
      status: 'failed',
      reason: `${reason} (its job was removed from the queue)`,
      connection: note.connection,
      at: note.at ? new Date(note.at).toISOString() : undefined,
      replayable: true,
      call: this.show(record),
    });
  }

  /** Groups in a fixed order (what ops can fix first), each with its label and what to do. */
  grouped(calls: UnloggedCall[]) {
    const order = Object.keys(CATEGORY_LABELS) as UnloggedCategory[];
    return order.map((category) => ({ category, ...CATEGORY_LABELS[category], calls: calls.filter((c) => c.category === category) })).filter((g) => g.calls.length > 0);
  }

  /**
   * Re-runs each call's own job: a failed one is retried, a completed one that skipped the call
   * runs again (with the mapping as it is now). Jobs that are running, waiting or gone are refused
   * with the reason. Returns when each was queued, so the caller can watch for its new outcome.
   */
  async replay(jobIds: string[]): Promise<{ replayed: { jobId: string; at: number }[]; refused: { jobId: string; why: string }[] }> {
    const replayed: { jobId: string; at: number }[] = [];
    const refused: { jobId: string; why: string }[] = [];
    for (const jobId of jobIds) {
      const job = await Job.fromId(this.queues.callLog, jobId);
      if (!job) {
        // Removed from the queue (cleaned, or past its retention): queued again while the call's
        // state says it was not logged.
        const target = await this.fromRecent(jobId);
        const was = target && ((await this.calls.annotations(target.callId, target.extension)).log as LogNote | undefined);
        if (target && was && (was.status === 'failed' || was.status === 'skipped')) {
          const at = Date.now();
          await this.queues.relog(target.callId, target.extension);
          replayed.push({ jobId, at });
          continue;
        }
        refused.push({ jobId, why: 'the job is gone (completed call-log jobs are kept 24 hours) and the call is not in the recent list as unlogged: it cannot be replayed' });
        continue;
      }
      const state = await job.getState();
      const { callId, extension } = job.data as { callId: string; extension: string };
      const note = (await this.calls.annotations(callId, extension)).log as LogNote | undefined;
      if (state === 'completed' && note?.status === 'logged') {
        refused.push({ jobId, why: 'already logged' });
        continue;
      }
      if (state !== 'failed' && state !== 'completed') {
        refused.push({ jobId, why: `the job is ${state}: it runs by itself` });
        continue;
      }
      const at = Date.now();
      try {
        await job.retry(state);
        replayed.push({ jobId, at });
      } catch (err) {
        refused.push({ jobId, why: `could not replay: ${(err as Error).message}` });
      }
    }
    return { replayed, refused };
  }

  /** Takes calls out of the inbox with a reason: a failed job is removed, and the call keeps a note of who discarded it and why. */
  async discard(jobIds: string[], reason: string): Promise<{ discarded: string[]; refused: { jobId: string; why: string }[] }> {
    const discarded: string[] = [];
    const refused: { jobId: string; why: string }[] = [];
    for (const jobId of jobIds) {
      const job = await Job.fromId<LogCallJobData>(this.queues.callLog, jobId);
      const target = job?.data ?? (await this.fromRecent(jobId));
      if (!target) {
        refused.push({ jobId, why: 'no such call in the inbox' });
        continue;
      }
      const state = job ? await job.getState() : 'gone';
      if (job && state !== 'failed' && state !== 'completed') {
        refused.push({ jobId, why: `the job is ${state}: wait for its outcome` });
        continue;
      }
      const was = (await this.calls.annotations(target.callId, target.extension)).log as LogNote | undefined;
      if (was?.status === 'logged') {
        refused.push({ jobId, why: 'already logged' });
        continue;
      }
      if (job && state === 'failed') await job.remove();
      await this.calls.annotate(target.callId, target.extension, 'log', { status: 'discarded', reason, at: Date.now(), ...(was ? { was } : {}) });
      discarded.push(jobId);
    }
    return { discarded, refused };
  }

  /** Where a replayed job stands: its queue state and the latest note on its call. */
  async result(jobId: string) {
    const job = await Job.fromId<LogCallJobData>(this.queues.callLog, jobId);
    if (!job) return undefined;
    const state = await job.getState();
    const note = (await this.calls.annotations(job.data.callId, job.data.extension)).log as LogNote | undefined;
    return { jobId, state, callId: job.data.callId, extension: job.data.extension, log: note };
  }

  /** A record as the admin API shows it (see shownCall). */
  show(record: CallRecord | undefined): ShownCall | undefined {
    return record ? shownCall(record, this.env.adminFullNumbers) : undefined;
  }

  private async fromRecent(jobId: string): Promise<{ callId: string; extension: string } | undefined> {
    const members = await this.redis.zrevrange(this.keys.recentCalls(), 0, RECENT_CALLS_KEPT - 1);
    for (const m of members) {
      const [callId, extension] = JSON.parse(m) as [string, string];
      if (logCallJobId(callId, extension) === jobId) return { callId, extension };
    }
    return undefined;
  }
}

/**
 * Groups for display only (retries are decided by the CrmError kind, elsewhere): the owner
 * look-up's own messages (src/mappings/mapping.service.ts), else a refusal by the CRM.
 */
function failureCategory(reason: string): UnloggedCategory {
  if (/No CRM user with e-mail|cannot look users up by e-mail/.test(reason)) return 'owner-not-found';
  return 'crm-refused';
}

/** The skip reasons of the call-log use cases (src/calls/log/) and src/mappings/decide.ts. */
function skipCategory(reason: string): UnloggedCategory {
  if (reason === 'extension not mapped to a CRM connection') return 'unmapped';
  if (reason.startsWith('unknown caller')) return 'unknown-caller-ignored';
  if (reason.startsWith('call record expired')) return 'record-expired';
  if (reason === 'internal call' || / is off$/.test(reason)) return 'off-by-rule';
  return 'other';
}
