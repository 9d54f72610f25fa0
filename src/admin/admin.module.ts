import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { CrmModule } from '../crm/crm.module';
import { MappingsModule } from '../mappings/mappings.module';
import { QueueModule } from '../queue/queue.module';
import { ScreenPopModule } from '../screen-pop/screen-pop.module';
import { AdminAuthGuard } from './admin-auth.guard';
import { AdminController } from './admin.controller';
import { ConsoleController } from './console.controller';
import { MappingEditor } from './mapping-editor.service';
import { OpsOverviewService } from './ops-overview.service';
import { OpsController } from './ops.controller';
import { UnloggedCallsService } from './unlogged-calls.service';

@Module({
  imports: [CallsModule, CrmModule, MappingsModule, QueueModule, ScreenPopModule],
  controllers: [AdminController, OpsController, ConsoleController],
  providers: [AdminAuthGuard, OpsOverviewService, UnloggedCallsService, MappingEditor],
  exports: [AdminAuthGuard],
})
export class AdminModule {}
