import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { QueueModule } from '../queue/queue.module';
import { SpoolModule } from '../spool/spool.module';
import { IngestAuth } from './ingest-auth';
import { IngestService } from './ingest.service';

/** The ingest routes themselves are registered on Fastify by bootstrap.ts (see ingest.routes.ts). */
@Module({
  imports: [CallsModule, QueueModule, SpoolModule],
  providers: [IngestService, IngestAuth],
  exports: [IngestService, IngestAuth],
})
export class IngestModule {}
