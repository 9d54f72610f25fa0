import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { AppEnv } from '../config/env';
import { matchesAnySecret } from '../ingest/secret-compare';
import { EventQueueService } from '../queue/event-queue.service';
import { adminTokenOf } from './admin-auth.guard';

export const DASHBOARD_PATH = '/admin/queues';

/** Bull Board on /admin/queues, behind the admin token (a browser is asked for it with Basic auth). */
export function mountQueueDashboard(app: NestFastifyApplication, env: AppEnv) {
  const queues = app.get(EventQueueService);
  const serverAdapter = new BullBoardFastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({ queues: [new BullMQAdapter(queues.screenPop), new BullMQAdapter(queues.callLog)], serverAdapter });
  // An encapsulated scope, so the auth hook runs for the dashboard's routes only, not on every
  // request (a global async hook cost every ingest request a promise).
  const dashboard = async (scope: FastifyInstance) => {
    scope.addHook('onRequest', async (req, reply) => {
      if (!matchesAnySecret(adminTokenOf(req.headers.authorization), [env.adminToken])) {
        return reply.code(401).header('WWW-Authenticate', 'Basic realm="voipnow-crm-connector admin"').send({ statusCode: 401, message: 'Admin token required (Basic auth: any user, ADMIN_TOKEN as password).' });
      }
    });
    await scope.register(serverAdapter.registerPlugin() as never);
  };
  void app.register(dashboard as never, { prefix: DASHBOARD_PATH });
}
