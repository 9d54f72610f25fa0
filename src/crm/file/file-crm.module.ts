import { Module } from '@nestjs/common';
import { CrmModule } from '../crm.module';
import { FileCrmController } from './file-crm.controller';

/** HTTP side of the `file` CRM: its contact pages. */
@Module({ imports: [CrmModule], controllers: [FileCrmController] })
export class FileCrmModule {}
