import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { QueueModule } from '../queue/queue.module';
import { IngestAuthGuard } from './ingest-auth.guard';
import { IngestController } from './ingest.controller';
import { IngestService } from './ingest.service';

@Module({
  imports: [CallsModule, QueueModule],
  controllers: [IngestController],
  providers: [IngestService, IngestAuthGuard],
})
export class IngestModule {}
