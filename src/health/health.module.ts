import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { CrmModule } from '../crm/crm.module';
import { QueueModule } from '../queue/queue.module';
import { CrmWatch } from './crm-watch.service';
import { HealthController } from './health.controller';

@Module({ imports: [CallsModule, CrmModule, QueueModule], controllers: [HealthController], providers: [CrmWatch] })
export class HealthModule {}
