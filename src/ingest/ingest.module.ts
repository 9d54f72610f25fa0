import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { QueueModule } from '../queue/queue.module';
import { SpoolModule } from '../spool/spool.module';
import { IngestAuth } from './ingest-auth';
import { IngestRoutes } from './ingest.routes';
import { IngestService } from './ingest.service';

/** Call Events in: the routes (registered on Fastify directly by IngestRoutes: see ingest.routes.ts), auth and the service. */
@Module({
  imports: [CallsModule, QueueModule, SpoolModule],
  providers: [IngestService, IngestAuth, IngestRoutes],
  exports: [IngestService, IngestAuth],
})
export class IngestModule {}
