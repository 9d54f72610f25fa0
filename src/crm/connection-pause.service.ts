import { Inject, Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { EventQueueService } from '../queue/event-queue.service';
import { RedisClient } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { SHARED_REDIS } from '../redis/redis.tokens';

/**
 * A connection whose daily quota is exhausted is paused until the quota resets: its call-log
 * jobs wait (they are not failed) and readiness reports it. Kept in Redis so every worker sees it.
 * The jobs a pause holds are remembered, so a resume (ops, admin API) releases them at once
 * instead of leaving them delayed until the pause would have ended.
 */
@Injectable()
export class ConnectionPauseService {
  constructor(
    @Inject(SHARED_REDIS) private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly queues: EventQueueService,
  ) {}

  private key(connection: string) {
    return this.keys.paused(connection);
  }

  private heldKey(connection: string) {
    return this.keys.pausedJobs(connection);
  }

  async pause(connection: string, until: number, reason: string): Promise<void> {
    const ms = Math.max(1000, until - Date.now());
    await this.redis.set(this.key(connection), JSON.stringify({ until, reason }), 'PX', ms);
  }

  /** Records that a call-log job waits for this connection's pause to end. */
  async hold(connection: string, jobId: string, until: number): Promise<void> {
    const key = this.heldKey(connection);
    // Outlives the pause by an hour: held jobs wake on their own when it ends, the set is only for resume.
    await this.redis
      .multi()
      .sadd(key, jobId)
      .pexpireat(key, Math.max(until, Date.now()) + 3600_000)
      .exec();
  }

  async resume(connection: string): Promise<void> {
    await this.redis.del(this.key(connection));
    const held = await this.redis.smembers(this.heldKey(connection));
    await Promise.all(held.map((id) => this.release(id)));
    if (held.length) await this.redis.srem(this.heldKey(connection), ...held);
  }

  /** Epoch ms until which the connection is paused, or undefined. */
  async pausedUntil(connection: string): Promise<{ until: number; reason: string } | undefined> {
    const value = await this.redis.get(this.key(connection));
    return value ? (JSON.parse(value) as { until: number; reason: string }) : undefined;
  }

  private async release(jobId: string): Promise<void> {
    const job = await Job.fromId(this.queues.callLog, jobId);
    // A job that is no longer delayed (done, or running now) has nothing to release.
    if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
  }
}
