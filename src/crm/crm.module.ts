import { Module } from '@nestjs/common';
import { QueueModule } from '../queue/queue.module';
import { ConnectionPauseService } from './connection-pause.service';
import { CrmRegistry } from './crm-registry.service';
import { LookupService } from './lookup.service';

@Module({
  imports: [QueueModule],
  providers: [CrmRegistry, LookupService, ConnectionPauseService],
  exports: [CrmRegistry, LookupService, ConnectionPauseService],
})
export class CrmModule {}
