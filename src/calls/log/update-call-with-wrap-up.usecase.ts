import { Injectable } from '@nestjs/common';
import { LogJob, LogStep } from './call-to-log';
import { CrmWriteGuard } from './crm-write-guard.usecase';
import { FindCallToLog } from './find-call-to-log.usecase';
import { UpdateLoggedCall } from './update-logged-call.usecase';

/** An `update-call` job: the agent's wrap-up saved after the call was logged, applied to its activity. */
@Injectable()
export class UpdateCallWithWrapUp {
  constructor(
    private readonly find: FindCallToLog,
    private readonly guard: CrmWriteGuard,
    private readonly updater: UpdateLoggedCall,
  ) {}

  async run(job: LogJob): Promise<LogStep> {
    const found = await this.find.find(job.callId, job.extension);
    if ('outcome' in found) return found.outcome;
    return this.guard.run(job, found.call, () => this.updater.update(found.call));
  }
}
