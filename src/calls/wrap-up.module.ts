import { Module } from '@nestjs/common';
import { CrmModule } from '../crm/crm.module';
import { MappingsModule } from '../mappings/mappings.module';
import { QueueModule } from '../queue/queue.module';
import { CallsModule } from './calls.module';
import { CardService } from './card.service';
import { WrapUpService } from './wrap-up.service';

/** The card's writes (wrap-up, contacts created from the card), for the HTTP side. */
@Module({ imports: [CallsModule, CrmModule, MappingsModule, QueueModule], providers: [WrapUpService, CardService], exports: [WrapUpService] })
export class WrapUpModule {}
