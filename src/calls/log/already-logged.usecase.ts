import { Inject, Injectable } from '@nestjs/common';
import { CallToLog, LogJob, LogStep } from './call-to-log';
import { CrmWriteGuard } from './crm-write-guard.usecase';
import { FollowUpMissedCall } from './follow-up-missed-call.usecase';
import { LogLedger } from './log-ledger';
import { UpdateLoggedCall } from './update-logged-call.usecase';

/**
 * A call whose activity is already in the CRM: a replayed job (nothing to write but a follow-up
 * task a crash may have missed), or a leg that ended after the call was logged (a transfer: the
 * activity is updated with the longer call).
 */
@Injectable()
export class AlreadyLogged {
  constructor(
    @Inject(LogLedger) private readonly ledger: Pick<LogLedger, 'marker'>,
    private readonly guard: CrmWriteGuard,
    private readonly update: UpdateLoggedCall,
    private readonly followUp: FollowUpMissedCall,
  ) {}

  /** Undefined when the call is not in the CRM yet. */
  async check(job: Pick<LogJob, 'attempt' | 'attempts'>, call: CallToLog): Promise<LogStep | undefined> {
    const marker = await this.ledger.marker(call);
    if (!marker) return undefined;
    if (call.legs && (call.record.endedAt ?? 0) > (marker.endedAt ?? Infinity)) return this.guard.run(job, call, () => this.update.update(call, 'the call went on after it was logged'));
    await this.followUp.create(call, marker.id);
    return { status: 'logged', connection: call.connection, activity: { id: marker.id, url: marker.url, created: false } };
  }
}
