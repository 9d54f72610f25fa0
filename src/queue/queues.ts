import { JobsOptions } from 'bullmq';
import { CallEvent, escapeIdPart } from '../ingest/call-event';

/**
 * Every queue and job the connector has, and their options, in one place.
 * Screen pops and call logging never share a queue: a logging backlog (CRM slow, rate-limited,
 * paused on quota) must not delay the caller card an agent is waiting for.
 */
export enum QueueName {
  ScreenPop = 'screen-pop',
  CallLog = 'call-log',
}

export enum JobName {
  /** Dial-In/Dial-Out/Answer/Hangup: look the caller up and update the agent's card. */
  Pop = 'pop',
  /** After Hangup: write the call to the CRM once. */
  LogCall = 'log-call',
  /** The agent's wrap-up saved after the call was logged: update the activity. */
  UpdateCall = 'update-call',
}

export interface PopJobData {
  event: CallEvent;
}

export interface LogCallJobData {
  callId: string;
  extension: string;
  hangupAt: number;
  /** Set when the job was held for the wrap-up window (its next start is not a retry). */
  heldForWrapUp?: boolean;
}

/** How long a completed pop job is kept: a redelivery of its event within it is a no-op (same job id). */
export const POP_JOBS_KEPT_SECONDS = 3600;

/**
 * The pop job carries its event from ingest to the worker, which keeps the event in the call state
 * (CallStateService) before anything else; the job is not read for its event after that, so it is
 * kept only an hour after it completes (a redelivery within it, e.g. the spool's replay of a write
 * that timed out yet landed, adds nothing and pops nothing).
 */
export function popJob(event: CallEvent): { name: JobName.Pop; data: PopJobData; opts: JobsOptions } {
  return {
    name: JobName.Pop,
    data: { event },
    opts: {
      // The event id doubles as job id, so a redelivered event is neither stored nor popped twice.
      jobId: event.id,
      attempts: 3,
      backoff: { type: 'exponential', delay: 200, jitter: 0.5 },
      removeOnComplete: { age: POP_JOBS_KEPT_SECONDS },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  };
}

/** How long, and how many, failed call logs are kept for replay (docs/admin-api.md). */
export const FAILED_CALL_LOGS_KEPT = { days: 30, count: 10_000 };

export function logCallJob(
  event: Pick<CallEvent, 'callId' | 'extension' | 'receivedAt'>,
  { settleMs, attempts, backoffMs }: { settleMs: number; attempts: number; backoffMs: number },
): { name: JobName.LogCall; data: LogCallJobData; opts: JobsOptions } {
  return {
    name: JobName.LogCall,
    data: { callId: event.callId, extension: event.extension, hangupAt: event.receivedAt },
    opts: {
      jobId: logCallJobId(event.callId, event.extension),
      delay: settleMs,
      attempts,
      // 5 s doubling with jitter by default: about 3 hours across 12 attempts, enough to ride out a CRM outage.
      backoff: { type: 'exponential', delay: backoffMs, jitter: 0.5 },
      removeOnComplete: { age: 24 * 3600, count: 50_000 },
      // Failed call logs stay for ops to inspect and replay, but not forever: past 30 days or
      // 10,000 (the oldest go first) a stuck connection would grow Redis without bound.
      // vncc_queue_jobs{queue="call-log",state="failed"} and readiness report the count.
      removeOnFail: { age: FAILED_CALL_LOGS_KEPT.days * 24 * 3600, count: FAILED_CALL_LOGS_KEPT.count },
    },
  };
}

/**
 * An update of a logged call with the wrap-up as saved at `savedAt` (a later save is another job;
 * each applies the latest wrap-up, so a repeat changes nothing).
 */
export function updateCallJob(
  callId: string,
  extension: string,
  activityKey: string,
  savedAt: number,
  { attempts, backoffMs }: { attempts: number; backoffMs: number },
): { name: JobName.UpdateCall; data: LogCallJobData; opts: JobsOptions } {
  return {
    name: JobName.UpdateCall,
    data: { callId, extension, hangupAt: savedAt },
    opts: {
      jobId: `update-${activityKey}-${savedAt}`,
      attempts,
      backoff: { type: 'exponential', delay: backoffMs, jitter: 0.5 },
      removeOnComplete: { age: 24 * 3600, count: 50_000 },
      removeOnFail: false,
    },
  };
}

export function logCallJobId(callId: string, extension: string): string {
  return `log-${escapeIdPart(callId)}-${escapeIdPart(extension)}`;
}
