import { Inject, Injectable } from '@nestjs/common';
import { Logger } from 'pino';
import { LOGGER } from '../../config/config.tokens';
import { ConnectionPauseService } from '../../crm/connection-pause.service';
import { CrmError } from '../../crm/crm-provider';
import { CallLogOutcome, CallToLog, LogJob, LogStep, PermanentLogFailure } from './call-to-log';
import { LogOutcomes } from './log-outcomes';

/**
 * Runs a CRM write with its errors classified: a permanent one fails the job at once, a rate
 * limit delays it and an exhausted quota pauses the connection (neither spends an attempt), the
 * rest are thrown for the queue to retry with back-off. A paused connection holds the job.
 */
@Injectable()
export class CrmWriteGuard {
  constructor(
    @Inject(ConnectionPauseService) private readonly pauses: Pick<ConnectionPauseService, 'pausedUntil' | 'pause'>,
    private readonly outcomes: LogOutcomes,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async run(job: Pick<LogJob, 'attempt' | 'attempts'>, call: CallToLog, work: () => Promise<CallLogOutcome>): Promise<LogStep> {
    const { connection } = call;
    const paused = await this.pauses.pausedUntil(connection);
    if (paused) return { postpone: 'pause', connection, until: paused.until, why: `connection ${connection} paused: ${paused.reason}` };
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof CrmError)) throw await this.outcomes.lastAttempt(job, call, err as Error);
      switch (err.kind) {
        case 'permanent':
          await this.outcomes.failed(call, err.message);
          throw new PermanentLogFailure(`${connection}: ${err.message}`);
        case 'rate-limited':
          return { postpone: 'delay', ms: err.opts.retryAfterMs ?? 10_000, why: `${connection} rate limit: ${err.message}` };
        case 'quota-exhausted': {
          const until = Date.now() + (err.opts.retryAfterMs ?? 3600_000);
          await this.pauses.pause(connection, until, err.message);
          this.log.warn({ event: 'crm.paused', connection, until: new Date(until).toISOString(), reason: err.message }, 'CRM quota exhausted: call logging paused');
          return { postpone: 'pause', connection, until, why: `${connection} quota exhausted` };
        }
        default:
          // retryable and auth: the queue retries with exponential back-off and jitter
          throw await this.outcomes.lastAttempt(job, call, err);
      }
    }
  }
}
