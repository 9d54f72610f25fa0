import { Inject, Injectable } from '@nestjs/common';
import { Logger } from 'pino';
import { LOGGER } from '../../config/config.tokens';
import { MetricsService } from '../../metrics/metrics.service';
import { CallRecord } from '../call-record';
import { CallStateService } from '../call-state.service';
import { CallLogOutcome, CallToLog, LogJob } from './call-to-log';
import { LoggedCallCards } from './logged-call-cards';

/** Where a call's log ended up, for ops: noted on the call (the recent-calls list), counted and logged. */
@Injectable()
export class LogOutcomes {
  constructor(
    @Inject(CallStateService) private readonly calls: Pick<CallStateService, 'annotate'>,
    @Inject(MetricsService) private readonly metrics: Pick<MetricsService, 'calls'>,
    private readonly cards: LoggedCallCards,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** `quiet`: noted but not counted (a leg that stands down for another leg's job is not a call). */
  async done(record: CallRecord, outcome: CallLogOutcome, quiet = false): Promise<CallLogOutcome> {
    await this.calls.annotate(record.callId, record.extension, 'log', { ...outcome, at: Date.now() });
    if (!quiet) this.metrics.calls.inc({ result: outcome.status, reason: outcome.reason ?? '' });
    if (outcome.status === 'skipped') this.log.info({ event: 'call.skipped', callId: record.callId, extension: record.extension, reason: outcome.reason }, 'call not logged');
    return outcome;
  }

  /** The other legs of a logged ring-group call show the same outcome as the leg that logged it. */
  async logged(call: CallToLog, outcome: CallLogOutcome): Promise<CallLogOutcome> {
    const { record } = call;
    const others = (call.legs?.map((l) => l.extension) ?? []).filter((e) => e !== record.extension);
    await Promise.all(others.map((e) => this.calls.annotate(record.callId, e, 'log', { ...outcome, at: Date.now() })));
    return this.done(record, outcome);
  }

  /** The CRM refused the call for good. */
  async failed(call: CallToLog, reason: string): Promise<void> {
    const { record, connection } = call;
    await this.calls.annotate(record.callId, record.extension, 'log', { status: 'failed', reason, connection, at: Date.now() });
    await this.cards.wrapUpFailed(call, reason);
    this.metrics.calls.inc({ result: 'failed', reason: 'permanent CRM error' });
  }

  /** On its last attempt a retryable failure is final: noted on the call and counted, like a permanent one. Returns `err`. */
  async lastAttempt(job: Pick<LogJob, 'attempt' | 'attempts'>, call: CallToLog, err: Error): Promise<Error> {
    const { record, connection } = call;
    if (job.attempt >= job.attempts) {
      const reason = `${err.message} (attempt ${job.attempt} of ${job.attempts})`;
      await this.calls.annotate(record.callId, record.extension, 'log', { status: 'failed', reason, connection, at: Date.now() }).catch(() => undefined);
      await this.cards.wrapUpFailed(call, reason).catch(() => undefined);
      this.metrics.calls.inc({ result: 'failed', reason: 'retries exhausted' });
    }
    return err;
  }
}
