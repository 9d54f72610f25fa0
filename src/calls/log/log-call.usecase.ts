import { Injectable } from '@nestjs/common';
import { AlreadyLogged } from './already-logged.usecase';
import { LogJob, LogStep } from './call-to-log';
import { ClaimCall } from './claim-call.usecase';
import { CrmWriteGuard } from './crm-write-guard.usecase';
import { FindCallToLog } from './find-call-to-log.usecase';
import { WrapUpWindow } from './wrap-up-window.usecase';
import { WriteCallActivity } from './write-call-activity.usecase';

/**
 * After Hangup: writes the call to the CRM exactly once. A marker records success (so a replayed
 * job does nothing); the provider's own search by key covers a crash between the CRM's create and
 * the marker.
 *
 * A call that rang several extensions with one CallID (ring group, queue, transfer) is one
 * activity (`callLogging: per-call`): each leg's Hangup has a job, the jobs of legs that end while
 * another leg is still on the call stand down, and of the jobs that find the whole call over, the
 * first claims it and logs it, owned by whoever answered first.
 */
@Injectable()
export class LogCall {
  constructor(
    private readonly find: FindCallToLog,
    private readonly claim: ClaimCall,
    private readonly alreadyLogged: AlreadyLogged,
    private readonly window: WrapUpWindow,
    private readonly guard: CrmWriteGuard,
    private readonly write: WriteCallActivity,
  ) {}

  /** A `log-call` job: the call's Hangup. */
  async run(job: LogJob): Promise<LogStep> {
    const found = await this.find.find(job.callId, job.extension);
    if ('outcome' in found) return found.outcome;
    const { call, leg } = found;
    const notThisJob = await this.claim.claim(job, call, leg);
    if (notThisJob) return notThisJob;
    const logged = await this.alreadyLogged.check(job, call);
    if (logged) return logged;
    const window = await this.window.check(call);
    if ('holdUntil' in window) return { postpone: 'delay', ms: window.holdUntil - Date.now(), why: 'wrap-up window', heldForWrapUp: true };
    return this.guard.run(job, call, () => this.write.write(job, call, window.wrapUp));
  }
}
