import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { CrmModule } from '../crm/crm.module';
import { HealthController } from './health.controller';

@Module({ imports: [CallsModule, CrmModule], controllers: [HealthController] })
export class HealthModule {}
