import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { EventQueueService } from './event-queue.service';

@Module({ imports: [CallsModule], providers: [EventQueueService], exports: [EventQueueService] })
export class QueueModule {}
