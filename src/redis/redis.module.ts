import { FactoryProvider, Global, Module, OnApplicationShutdown } from '@nestjs/common';
import { Logger } from 'pino';
import { APP_ENV, LOGGER } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { redisOutageLog } from '../logging/redis-outage';
import { RedisClient } from './redis-connection';
import { RedisConnections } from './redis-connections';
import { RedisKeys } from './redis-keys';
import { AGENT_REPLAY_REDIS, REQUEST_REDIS, SHARED_REDIS, UPDATE_SUBSCRIBER } from './redis.tokens';
import { UpdateSubscriber } from './update-subscriber';

/**
 * The named connections every module shares (see redis.tokens.ts) and the key names (RedisKeys),
 * built once by factories. Every connection is closed here on shutdown (RedisConnections), after
 * the services that use them have stopped: the module is global, so its hooks run last.
 */
@Global()
@Module({
  providers: [
    RedisConnections,
    { provide: RedisKeys, inject: [APP_ENV], useFactory: (env: AppEnv) => new RedisKeys(env.redisPrefix) },
    {
      provide: REQUEST_REDIS,
      inject: [RedisConnections, APP_ENV, LOGGER],
      useFactory: (connections: RedisConnections, env: AppEnv, log: Logger): RedisClient => {
        const redis = connections.open('fail-fast', 'vncc-request-path');
        redis.on('ready', () => redisOutageLog(log, env.redisUrl).recovered());
        return redis;
      },
    },
    {
      provide: SHARED_REDIS,
      inject: [RedisConnections],
      useFactory: (connections: RedisConnections): RedisClient => connections.open('plain', 'vncc-shared'),
    },
  ],
  exports: [RedisConnections, RedisKeys, REQUEST_REDIS, SHARED_REDIS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(private readonly connections: RedisConnections) {}

  async onApplicationShutdown() {
    await this.connections.closeAll();
  }
}

/**
 * The agent pages' own connections (the replay reader and the update subscriber), provided by the
 * module that serves the pages, so a worker-only process never opens them; RedisConnections
 * closes them with the others.
 */
export const agentPageRedisProviders: FactoryProvider[] = [
  {
    provide: AGENT_REPLAY_REDIS,
    inject: [RedisConnections],
    useFactory: (connections: RedisConnections): RedisClient => connections.open('fail-fast', 'vncc-agent-replay'),
  },
  {
    provide: UPDATE_SUBSCRIBER,
    inject: [RedisConnections, APP_ENV, LOGGER],
    useFactory: (connections: RedisConnections, env: AppEnv, log: Logger): UpdateSubscriber => {
      const subscriber = new UpdateSubscriber(env.redisUrl, log);
      connections.onClose(() => subscriber.close());
      return subscriber;
    },
  },
];
