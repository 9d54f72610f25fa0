import { LoggedActivity } from '../../crm/crm-provider';
import { ResolvedMapping } from '../../mappings/resolve-mapping';
import { CallLeg } from '../call-group';
import { CallRecord } from '../call-record';

/** What a call-log job did with its call; noted on the call for ops and returned as the job's result. */
export interface CallLogOutcome {
  status: 'logged' | 'skipped' | 'updated';
  reason?: string;
  connection?: string;
  activity?: LoggedActivity;
  matchId?: string;
}

/** The call a job writes: the whole customer call (per-call logging) or one extension's part of it. */
export interface CallToLog {
  record: CallRecord;
  /** The mapping that owns the activity: the owner leg's. */
  mapping: ResolvedMapping;
  connection: string;
  /** The activity's idempotency key (activityKey). */
  key: string;
  /** Every leg of a call that rang several extensions; undefined for a call on one extension. */
  legs?: CallLeg[];
}

/**
 * What the use cases need of the queue job that runs them. The processor adapts a BullMQ job to
 * it, so nothing here depends on the queue library.
 */
export interface LogJob {
  readonly id: string;
  readonly callId: string;
  readonly extension: string;
  /** False only on the job's first real run: no earlier run can have reached the CRM. */
  readonly mayExist: boolean;
  /** This run's attempt number (1-based) and how many the job has. */
  readonly attempt: number;
  readonly attempts: number;
  /** Is the job with this id still in the queue? (A claim held by a removed job passes on.) */
  exists(jobId: string): Promise<boolean>;
}

/**
 * The job waits without spending an attempt: `delay` for `ms` (a rate limit, the wrap-up window),
 * `pause` until the connection's pause ends (an exhausted quota).
 */
export type Postponed = { postpone: 'delay'; ms: number; why: string; heldForWrapUp?: boolean } | { postpone: 'pause'; connection: string; until: number; why: string };

export type LogStep = CallLogOutcome | Postponed;

export function isPostponed(step: LogStep): step is Postponed {
  return 'postpone' in step;
}

/** The CRM refused the call for good (a permanent error): the job fails now, without retries. */
export class PermanentLogFailure extends Error {
  override readonly name = 'PermanentLogFailure';
}
