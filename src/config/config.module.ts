import { DynamicModule, Global, Module } from '@nestjs/common';
import { Logger } from 'pino';
import { ConnectorConfig } from './config.schema';
import { APP_ENV, CONNECTOR_CONFIG, LOGGER } from './config.tokens';
import { AppEnv } from './env';
import { ConfigStore } from './config.store';

/** Hands the already-validated environment, config and logger to every module. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(env: AppEnv, config: ConnectorConfig, logger: Logger): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: APP_ENV, useValue: env }, { provide: CONNECTOR_CONFIG, useValue: config }, { provide: LOGGER, useValue: logger }, ConfigStore],
      exports: [APP_ENV, CONNECTOR_CONFIG, LOGGER, ConfigStore],
    };
  }
}
