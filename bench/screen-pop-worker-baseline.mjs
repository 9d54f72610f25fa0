// The baseline for bench/screen-pop-worker.mjs: a bare BullMQ worker on the same queue name and
// concurrency whose job waits the CRM's latency and publishes one update. No call record, no
// lookup, no replay stream, no notes: what is left is BullMQ's own per-job cost and one PUBLISH.
import { Worker } from 'bullmq';
import Redis from 'ioredis';

const prefix = process.env.REDIS_PREFIX;
const latencyMs = Number(process.env.BENCH_CRM_LATENCY_MS ?? 0);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const pub = new Redis(redisUrl);
const worker = new Worker(
  'screen-pop',
  async (job) => {
    const { event } = job.data;
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    await pub.publish(`${prefix}:updates:${event.extension}`, JSON.stringify({ record: { callId: event.callId, extension: event.extension }, lookup: { status: 'done' } }));
  },
  { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }), prefix, concurrency: Number(process.env.BENCH_CONCURRENCY ?? 250) },
);
await worker.waitUntilReady();
process.send?.({ ready: true });
process.on('SIGTERM', async () => {
  await worker.close();
  pub.disconnect();
  process.exit(0);
});
