import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { Logger } from 'pino';
import { APP_ENV, LOGGER } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { redisOutageLog } from '../logging/redis-outage';
import { createRedis, RedisClient } from './redis-connection';
import { REQUEST_REDIS, SHARED_REDIS } from './redis.tokens';

/**
 * The named connections every module shares (see redis.tokens.ts), built once by factories and
 * closed here on shutdown, after the services that use them have stopped.
 */
@Global()
@Module({
  providers: [
    {
      provide: REQUEST_REDIS,
      inject: [APP_ENV, LOGGER],
      useFactory: (env: AppEnv, log: Logger): RedisClient => {
        const redis = createRedis(env.redisUrl, 'fail-fast', { connectionName: 'vncc-request-path' });
        // Errors surface on each command; without a listener ioredis would print every reconnect attempt.
        redis.on('error', () => undefined);
        redis.on('ready', () => redisOutageLog(log, env.redisUrl).recovered());
        return redis;
      },
    },
    {
      provide: SHARED_REDIS,
      inject: [APP_ENV],
      useFactory: (env: AppEnv): RedisClient => {
        const redis = createRedis(env.redisUrl, 'plain', { connectionName: 'vncc-shared' });
        redis.on('error', () => undefined);
        return redis;
      },
    },
  ],
  exports: [REQUEST_REDIS, SHARED_REDIS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(
    @Inject(REQUEST_REDIS) private readonly request: RedisClient,
    @Inject(SHARED_REDIS) private readonly shared: RedisClient,
  ) {}

  async onApplicationShutdown() {
    await Promise.all([this.request, this.shared].map((c) => c.quit().catch(() => c.disconnect())));
  }
}
