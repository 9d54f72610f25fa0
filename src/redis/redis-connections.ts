import { Inject, Injectable } from '@nestjs/common';
import { APP_ENV } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { ConnectionExtras, ConnectionRole, createRedis, RedisClient } from './redis-connection';

/**
 * Opens the connections RedisModule's factories provide and closes them all when the module shuts
 * down (last: it is global, so every service that uses them has stopped by then).
 */
@Injectable()
export class RedisConnections {
  private readonly closers = new Set<() => Promise<void>>();

  constructor(@Inject(APP_ENV) private readonly env: AppEnv) {}

  /** A connection for `role`, named `name` in CLIENT LIST; errors surface on each command (without a listener ioredis would print every reconnect). */
  open(role: ConnectionRole, name: string, extras: ConnectionExtras = {}): RedisClient {
    const redis = createRedis(this.env.redisUrl, role, { connectionName: name, ...extras });
    redis.on('error', () => undefined);
    this.onClose(() => closeConnection(redis));
    return redis;
  }

  /** Runs `close` on shutdown, with the connections this registry opened. */
  onClose(close: () => Promise<void>): void {
    this.closers.add(close);
  }

  async closeAll(): Promise<void> {
    const closers = [...this.closers];
    this.closers.clear();
    await Promise.allSettled(closers.map((close) => close()));
  }
}

/**
 * QUIT once pending commands are answered; a connection that is away is dropped instead: quit() on
 * it waits for the next reconnect (13 s measured with Redis down), which would hold up shutdown.
 */
export async function closeConnection(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}
