import { DynamicModule, Module } from '@nestjs/common';
import { Logger } from 'pino';
import { ConfigModule } from './config/config.module';
import { ConnectorConfig } from './config/config.schema';
import { AppEnv } from './config/env';
import { HealthModule } from './health/health.module';
import { AdminModule } from './admin/admin.module';
import { IngestModule } from './ingest/ingest.module';
import { MetricsModule } from './metrics/metrics.module';
import { WorkersModule } from './queue/workers.module';
import { ScreenPopModule } from './screen-pop/screen-pop.module';
import { FileCrmModule } from './crm/file/file-crm.module';
import { EmbedModule } from './embed/embed.module';
import { RedisModule } from './redis/redis.module';

/** ROLE decides what this process runs: the HTTP side, the workers, or both (the default). */
@Module({})
export class AppModule {
  static forRoot(env: AppEnv, config: ConnectorConfig, logger: Logger): DynamicModule {
    const http = env.role !== 'worker';
    const workers = env.role !== 'api';
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(env, config, logger),
        RedisModule,
        MetricsModule,
        HealthModule,
        ...(http ? [IngestModule, AdminModule, ScreenPopModule, FileCrmModule, EmbedModule] : []),
        ...(workers ? [WorkersModule] : []),
      ],
    };
  }
}
