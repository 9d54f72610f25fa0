import { Module } from '@nestjs/common';
import { AdminAuthGuard } from '../admin/admin-auth.guard';
import { APP_ENV } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { MappingsModule } from '../mappings/mappings.module';
import { EmbedAdminController } from './embed-admin.controller';
import { EmbedController } from './embed.controller';
import { readEmbedSettings } from './embed.settings';
import { EMBED_SETTINGS } from './embed.tokens';
import { PanelBindings } from './panel-bindings.service';

/**
 * The caller card inside the CRM: the Salesforce Open CTI panel and the HubSpot calling iframe,
 * their bindings to extensions, and the ops routes that manage those bindings. The card itself,
 * its stream and its writes stay the agent page's (src/screen-pop/).
 */
@Module({
  imports: [MappingsModule],
  controllers: [EmbedController, EmbedAdminController],
  providers: [{ provide: EMBED_SETTINGS, inject: [APP_ENV], useFactory: (env: AppEnv) => readEmbedSettings(env) }, PanelBindings, AdminAuthGuard],
})
export class EmbedModule {}
