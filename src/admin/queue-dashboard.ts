import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { AppEnv } from '../config/env';
import { matchesAnySecret } from '../ingest/secret-compare';
import { EventQueueService } from '../queue/event-queue.service';
import { dashboardTokenOf } from './admin-auth.guard';

export const DASHBOARD_PATH = '/admin/queues';

/** No other site may frame the dashboard (clickjacking) or cache what it shows. */
const DASHBOARD_HEADERS = {
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * Bull Board on /admin/queues, read-only, behind the admin token (a browser is asked for it with
 * Basic auth). Read-only because a browser sends cached Basic credentials with any request to
 * this origin, a forged cross-site one included: replaying, discarding and pausing go through
 * the admin API, which takes a Bearer token only.
 */
export function mountQueueDashboard(app: NestFastifyApplication, env: AppEnv) {
  const queues = app.get(EventQueueService);
  const serverAdapter = new BullBoardFastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(queues.screenPop, { readOnlyMode: true }), new BullMQAdapter(queues.callLog, { readOnlyMode: true })],
    serverAdapter,
  });
  // An encapsulated scope, so the auth hook runs for the dashboard's routes only, not on every
  // request (a global async hook cost every ingest request a promise).
  const dashboard = async (scope: FastifyInstance) => {
    scope.addHook('onRequest', async (req, reply) => {
      void reply.headers(DASHBOARD_HEADERS);
      if (!matchesAnySecret(dashboardTokenOf(req.headers.authorization), [env.adminToken])) {
        return reply
          .code(401)
          .header('WWW-Authenticate', 'Basic realm="voipnow-crm-connector admin"')
          .send({ statusCode: 401, message: 'Admin token required (Basic auth: any user, ADMIN_TOKEN as password).' });
      }
      // The board's own action routes (retry, clean, pause...) exist even in read-only mode.
      if (req.method !== 'GET') {
        // Prettier alternates between two layouts of this call chain: kept as written.
        // prettier-ignore
        return reply
          .code(405)
          .header('Allow', 'GET')
          .send({ statusCode: 405, message: 'The queue dashboard is read-only. Replay, discard or pause with the admin API (Authorization: Bearer <ADMIN_TOKEN>): POST /admin/jobs/failed/replay, DELETE /admin/jobs/failed/:id, POST /admin/connections/:name/pause.' });
      }
    });
    await scope.register(serverAdapter.registerPlugin());
  };
  void app.register(dashboard, { prefix: DASHBOARD_PATH });
}
