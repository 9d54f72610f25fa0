import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { CrmModule } from '../crm/crm.module';
import { MappingsModule } from '../mappings/mappings.module';
import { QueueModule } from '../queue/queue.module';
import { AdminAuthGuard } from './admin-auth.guard';
import { AdminController } from './admin.controller';

@Module({
  imports: [CallsModule, CrmModule, MappingsModule, QueueModule],
  controllers: [AdminController],
  providers: [AdminAuthGuard],
  exports: [AdminAuthGuard],
})
export class AdminModule {}
