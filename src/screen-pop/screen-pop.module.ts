import { Module } from '@nestjs/common';
import { AdminAuthGuard } from '../admin/admin-auth.guard';
import { CallsModule } from '../calls/calls.module';
import { WrapUpModule } from '../calls/wrap-up.module';
import { MappingsModule } from '../mappings/mappings.module';
import { agentPageRedisProviders } from '../redis/redis.module';
import { AgentCallsController } from './agent-calls.controller';
import { AgentLinksController } from './agent-links.controller';
import { AgentLinks } from './agent-links.service';
import { ScreenPopController } from './screen-pop.controller';
import { UpdateHub } from './update-hub.service';

/** HTTP side: the agent page, its update stream (any instance serves any agent), the card's writes, and agent links. */
@Module({
  imports: [CallsModule, MappingsModule, WrapUpModule],
  controllers: [ScreenPopController, AgentLinksController, AgentCallsController],
  providers: [AgentLinks, UpdateHub, AdminAuthGuard, ...agentPageRedisProviders],
  // The ops console lists and revokes agent links.
  exports: [AgentLinks],
})
export class ScreenPopModule {}
