import { Global, Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { QueueModule } from '../queue/queue.module';
import { SpoolService } from './spool.service';

/**
 * The ingest's local spool. Global so readiness (HealthModule, loaded by every role) can report
 * it where it exists: only processes that serve the ingest (ROLE=api or all) import it.
 */
@Global()
@Module({
  imports: [CallsModule, QueueModule],
  providers: [SpoolService],
  exports: [SpoolService],
})
export class SpoolModule {}
