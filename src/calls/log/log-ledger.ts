import { Inject, Injectable } from '@nestjs/common';
import { SHARED_REDIS } from '../../redis/redis.tokens';
import { RedisKeys } from '../../redis/redis-keys';
import { LoggedMarker } from '../activity-keys';
import { CallToLog, LogJob } from './call-to-log';

const MARKER_TTL_SECONDS = 30 * 24 * 3600;

/** The two Redis commands the ledger uses (a RedisClient has them; a unit test's in-memory store can too). */
export interface LedgerRedis {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ex: 'EX', seconds: number): Promise<unknown>;
  set(key: string, value: string, ex: 'EX', seconds: number, nx: 'NX', get: 'GET'): Promise<string | null>;
}

/**
 * What the connector remembers of each call it logs, so the CRM gets it once: which job claimed
 * the call, the activity it became (the logged marker) and the follow-up task of a missed call.
 */
@Injectable()
export class LogLedger {
  constructor(
    @Inject(SHARED_REDIS) private readonly redis: LedgerRedis,
    private readonly keys: RedisKeys,
  ) {}

  /**
   * Several legs' jobs can find the call over at once (a missed ring-group call hangs up on every
   * member together): the first claims it, the others stand down. A claim whose job is gone (removed
   * from the queue) passes to the next job that asks. Returns why this job stands down, or undefined.
   */
  async claim(job: Pick<LogJob, 'id' | 'exists'>, call: CallToLog): Promise<string | undefined> {
    const key = this.keys.logClaim(call.connection, call.key);
    const holder = await this.redis.set(key, job.id, 'EX', MARKER_TTL_SECONDS, 'NX', 'GET');
    if (holder === null || holder === job.id) return undefined;
    if (!(await job.exists(holder))) {
      await this.redis.set(key, job.id, 'EX', MARKER_TTL_SECONDS);
      return undefined;
    }
    return `logged once for the whole call, by job ${holder}`;
  }

  async marker(call: CallToLog): Promise<LoggedMarker | undefined> {
    const json = await this.redis.get(this.markerKey(call));
    return json ? (JSON.parse(json) as LoggedMarker) : undefined;
  }

  async saveMarker(call: CallToLog, marker: LoggedMarker): Promise<void> {
    await this.redis.set(this.markerKey(call), JSON.stringify(marker), 'EX', MARKER_TTL_SECONDS);
  }

  /** The id of the follow-up task created for the call, if one was. */
  async followUpTask(call: CallToLog): Promise<string | undefined> {
    return (await this.redis.get(this.followUpKey(call))) ?? undefined;
  }

  async saveFollowUpTask(call: CallToLog, taskId: string): Promise<void> {
    await this.redis.set(this.followUpKey(call), taskId, 'EX', MARKER_TTL_SECONDS);
  }

  private markerKey(call: CallToLog): string {
    return this.keys.loggedMarker(call.connection, call.key);
  }

  private followUpKey(call: CallToLog): string {
    return this.keys.loggedFollowUp(call.connection, call.key);
  }
}
