import { Module } from '@nestjs/common';
import { EventQueueService } from './event-queue.service';

@Module({ providers: [EventQueueService], exports: [EventQueueService] })
export class QueueModule {}
