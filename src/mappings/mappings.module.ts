import { Module } from '@nestjs/common';
import { CrmModule } from '../crm/crm.module';
import { MappingService } from './mapping.service';

@Module({ imports: [CrmModule], providers: [MappingService], exports: [MappingService] })
export class MappingsModule {}
