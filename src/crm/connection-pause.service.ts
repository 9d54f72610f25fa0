import { Inject, Injectable } from '@nestjs/common';
import { APP_ENV } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { CrmRegistry } from './crm-registry.service';

/**
 * A connection whose daily quota is exhausted is paused until the quota resets: its call-log
 * jobs wait (they are not failed) and readiness reports it. Kept in Redis so every worker sees it.
 */
@Injectable()
export class ConnectionPauseService {
  constructor(
    private readonly crm: CrmRegistry,
    @Inject(APP_ENV) private readonly env: AppEnv,
  ) {}

  private key(connection: string) {
    return `${this.env.redisPrefix}:paused:${connection}`;
  }

  async pause(connection: string, until: number, reason: string): Promise<void> {
    const ms = Math.max(1000, until - Date.now());
    await this.crm.redis.set(this.key(connection), JSON.stringify({ until, reason }), 'PX', ms);
  }

  async resume(connection: string): Promise<void> {
    await this.crm.redis.del(this.key(connection));
  }

  /** Epoch ms until which the connection is paused, or undefined. */
  async pausedUntil(connection: string): Promise<{ until: number; reason: string } | undefined> {
    const value = await this.crm.redis.get(this.key(connection));
    return value ? (JSON.parse(value) as { until: number; reason: string }) : undefined;
  }
}
