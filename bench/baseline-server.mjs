// The baseline for bench/ingest.mjs: a bare Fastify route doing what the connector's ingest must
// at minimum do — parse the form, add one BullMQ job with an id — and nothing else. It gets the
// same ioredis auto-pipelining the connector uses, so the ratio compares the code, not the options.
import Fastify from 'fastify';
import { parse } from 'fast-querystring';
import { Queue } from 'bullmq';

const port = Number(process.env.PORT);
const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const queue = new Queue('baseline', {
  connection: { host: url.hostname, port: Number(url.port || 6379), enableOfflineQueue: false, enableAutoPipelining: true },
  prefix: process.env.REDIS_PREFIX,
});
await queue.waitUntilReady();
const app = Fastify({ bodyLimit: 65536 });
app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, parse(body)));
app.post('/voipnow/events/:event', async (req, reply) => {
  const body = req.body;
  await queue.add('pop', body, { jobId: `${req.params.event}-${body.CallID}` });
  reply.code(202);
  return { accepted: true };
});
await app.listen({ port, host: '127.0.0.1' });
process.send?.('ready');
process.on('SIGTERM', async () => {
  await app.close();
  await queue.close();
  process.exit(0);
});
