import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { CardService } from '../calls/card.service';
import { CALL_LOG_PROVIDERS } from '../calls/log';
import { SCREEN_POP_PROVIDERS } from '../calls/pop';
import { CrmModule } from '../crm/crm.module';
import { MappingsModule } from '../mappings/mappings.module';
import { QueueModule } from './queue.module';
import { CallLogProcessor } from './call-log.processor';
import { JOB_PROCESSORS, JobProcessor } from './job-processor';
import { ScreenPopProcessor } from './screen-pop.processor';
import { WorkerHostService } from './worker-host.service';

/** Loaded when ROLE is worker or all: one processor per queue, run by the worker host. */
@Module({
  imports: [CallsModule, CrmModule, MappingsModule, QueueModule],
  providers: [
    CardService,
    ...SCREEN_POP_PROVIDERS,
    ...CALL_LOG_PROVIDERS,
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
