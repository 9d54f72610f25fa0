import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { APP_ENV } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { RedisClient } from '../redis/redis-connection';
import { REQUEST_REDIS } from '../redis/redis.tokens';
import { EventQueueService } from './event-queue.service';
import { QueueName } from './queues';

/**
 * Both queues, registered through @nestjs/bullmq on the request path's connection (fail-fast,
 * auto-pipelined; BullMQ leaves a connection it is given for RedisModule to close). The workers
 * are not created here: see worker-host.service.ts.
 */
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [REQUEST_REDIS, APP_ENV],
      useFactory: (connection: RedisClient, env: AppEnv) => ({ connection, prefix: env.redisPrefix }),
    }),
    BullModule.registerQueue({ name: QueueName.ScreenPop }, { name: QueueName.CallLog }),
  ],
  providers: [EventQueueService],
  exports: [EventQueueService],
})
export class QueueModule {}
