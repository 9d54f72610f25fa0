import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
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
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith(DASHBOARD_PATH)) return;
    if (!matchesAnySecret(adminTokenOf(req.headers.authorization), [env.adminToken])) {
      return reply.code(401).header('WWW-Authenticate', 'Basic realm="voipnow-crm-connector admin"').send({ statusCode: 401, message: 'Admin token required (Basic auth: any user, ADMIN_TOKEN as password).' });
    }
  });
  void app.register(serverAdapter.registerPlugin() as never, { prefix: DASHBOARD_PATH });
}
