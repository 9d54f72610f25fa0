import { Module } from '@nestjs/common';
import { ConnectionPauseService } from './connection-pause.service';
import { CrmRegistry } from './crm-registry.service';
import { LookupService } from './lookup.service';

@Module({
  providers: [CrmRegistry, LookupService, ConnectionPauseService],
  exports: [CrmRegistry, LookupService, ConnectionPauseService],
})
export class CrmModule {}
