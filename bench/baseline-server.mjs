// The baseline for bench/ingest.mjs: a bare Fastify route doing the same BullMQ `add` the
// connector's ingest does, and nothing else: the same queue name, job name, job options (id,
// attempts, back-off, retention: popJob() from the connector's own build) and a job holding the
// form's parameters, on the same kind of auto-pipelined, fail-fast connection. What the ratio
// then measures is what the connector does around that add (authentication, validation and
// normalisation, its log line, Nest's hooks). BENCH_BASELINE=minimal adds a job with an id and
// nothing else instead (the baseline until 2026-11-25): that ratio also charges the connector for
// its retries and retention.
import Fastify from 'fastify';
import { parse } from 'fast-querystring';
import { Queue } from 'bullmq';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { popJob, QueueName } = require('../dist/queue/queues.js');
const minimal = process.env.BENCH_BASELINE === 'minimal';
const port = Number(process.env.PORT);
const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const queue = new Queue(minimal ? 'baseline' : QueueName.ScreenPop, {
  connection: { host: url.hostname, port: Number(url.port || 6379), enableOfflineQueue: false, enableAutoPipelining: true, maxRetriesPerRequest: 1, commandTimeout: 1500 },
  prefix: process.env.REDIS_PREFIX,
});
await queue.waitUntilReady();
const keepSeconds = 48 * 3600; // calls.recordTtlHours' default
const app = Fastify({ bodyLimit: 65536 });
app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, parse(body)));
app.post('/voipnow/events/:event', async (req, reply) => {
  const body = req.body;
  const id = `${req.params.event}-${body.CallID}`;
  if (minimal) await queue.add('pop', body, { jobId: id });
  else {
    const job = popJob({ ...body, id, type: req.params.event, receivedAt: Date.now() }, { keepSeconds });
    await queue.add(job.name, job.data, job.opts);
  }
  reply.code(202);
  return { accepted: true, id };
});
await app.listen({ port, host: '127.0.0.1' });
process.send?.('ready');
process.on('SIGTERM', async () => {
  await app.close();
  await queue.close();
  process.exit(0);
});
