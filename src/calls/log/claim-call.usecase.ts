import { Inject, Injectable } from '@nestjs/common';
import { shouldLog } from '../../mappings/decide';
import { CallRecord } from '../call-record';
import { CallLogOutcome, CallToLog, LogJob } from './call-to-log';
import { LogLedger } from './log-ledger';
import { LogOutcomes } from './log-outcomes';

/** Is the call logged at all (the mapping's rules), and is it this job that logs it (the first to claim it)? */
@Injectable()
export class ClaimCall {
  constructor(
    @Inject(LogLedger) private readonly ledger: Pick<LogLedger, 'claim'>,
    private readonly outcomes: LogOutcomes,
  ) {}

  /** Undefined when this job logs the call; else why not, noted on the job's own leg. */
  async claim(job: Pick<LogJob, 'id' | 'exists'>, call: CallToLog, leg: CallRecord): Promise<CallLogOutcome | undefined> {
    const decision = shouldLog(call.record, call.mapping);
    if (!decision.yes) return this.outcomes.done(leg, { status: 'skipped', reason: decision.reason });
    const claim = await this.ledger.claim(job, call);
    // Not counted: the job that holds the claim counts the call.
    if (claim) return this.outcomes.done(leg, { status: 'skipped', reason: claim, connection: decision.connection }, true);
    return undefined;
  }
}
