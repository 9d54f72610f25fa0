import { Module } from '@nestjs/common';
import { CallStateService } from './call-state.service';
import { CallUpdatePublisher } from './call-update.publisher';

@Module({ providers: [CallStateService, CallUpdatePublisher], exports: [CallStateService, CallUpdatePublisher] })
export class CallsModule {}
