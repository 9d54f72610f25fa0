import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { CardService } from '../calls/card.service';
import { CALL_LOG_PROVIDERS } from '../calls/log';
import { PendingEvents } from '../calls/log/pending-events';
import { SCREEN_POP_PROVIDERS } from '../calls/pop';
import { CrmModule } from '../crm/crm.module';
import { MappingsModule } from '../mappings/mappings.module';
import { QueueModule } from './queue.module';
import { CallLogProcessor } from './call-log.processor';
import { JOB_PROCESSORS, JobProcessor } from './job-processor';
import { ScreenPopProcessor } from './screen-pop.processor';
import { PendingPopEvents } from './pending-pop-events';
import { WorkerHostService } from './worker-host.service';

/** Loaded when ROLE is worker or all: one processor per queue, run by the worker host. */
@Module({
  imports: [CallsModule, CrmModule, MappingsModule, QueueModule],
  providers: [
    CardService,
    ...SCREEN_POP_PROVIDERS,
    ...CALL_LOG_PROVIDERS,
    // A call-log job keeps the events its leg's pop jobs still carry (the screen-pop queue is behind).
    { provide: PendingEvents, useClass: PendingPopEvents },
    ScreenPopProcessor,
    CallLogProcessor,
    {
      provide: JOB_PROCESSORS,
      useFactory: (...processors: JobProcessor[]) => processors,
      inject: [ScreenPopProcessor, CallLogProcessor],
    },
    WorkerHostService,
  ],
})
export class WorkersModule {}
