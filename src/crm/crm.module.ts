import { Module } from '@nestjs/common';
import { QueueModule } from '../queue/queue.module';
import { ConnectionPauseService } from './connection-pause.service';
import { CrmBatcher } from './crm-batcher.service';
import { CrmRegistry } from './crm-registry.service';
import { LookupService } from './lookup.service';

@Module({
  imports: [QueueModule],
  providers: [CrmRegistry, CrmBatcher, LookupService, ConnectionPauseService],
  exports: [CrmRegistry, CrmBatcher, LookupService, ConnectionPauseService],
})
export class CrmModule {}
