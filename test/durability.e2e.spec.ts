import { Job, Queue } from 'bullmq';
import { CallStateService } from '../src/calls/call-state.service';
import { EventQueueService } from '../src/queue/event-queue.service';
import { OwnRedis } from './support/redis-server';
import { eventually, newCallId, sendEvent, startTestApp, TestApp } from './support/test-app';
import { dropKeys } from './support/redis-keys';

describe('Durability', () => {
  describe('when Redis goes away', () => {
    let redis: OwnRedis;
    let t: TestApp;
    beforeAll(async () => {
      redis = await OwnRedis.start();
      // The spool off: this is the path where neither Redis nor the spool can keep an event (test/chaos/spool.e2e.spec.ts has the spool on).
      t = await startTestApp({ REDIS_URL: redis.url, SPOOL_MAX_MB: '0' });
    });
    afterAll(async () => {
      await t.close();
      await redis.stop();
    });

    it('answers 503 fast while it is down, never 2xx, and 202 again once it is back', async () => {
      const before = await sendEvent(t.url, 'dial-in', { CallID: newCallId(), CalledExtension: '210' });
      expect(before.status).toBe(202);

      await redis.stop();
      const timings: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = Date.now();
        const res = await sendEvent(t.url, 'dial-in', { CallID: newCallId(), CalledExtension: '210' });
        timings.push(Date.now() - started);
        expect(res.status).toBe(503);
        expect(res.body.message).toMatch(/not accepted/);
      }
      // "Fast" here means bounded by the connector's own Redis budget, not by a reconnect that may never come.
      expect(Math.max(...timings)).toBeLessThan(2000);
      const ready = await fetch(`${t.url}/health/ready`);
      expect(ready.status).toBe(503);

      await redis.start();
      const callId = newCallId();
      await eventually(
        async () => {
          const res = await sendEvent(t.url, 'dial-in', { CallID: callId, CalledExtension: '210' });
          return res.status === 202 ? res : undefined;
        },
        15_000,
        'a 202 after Redis came back',
      );
      // Kept in the call state once its pop job has run.
      const stored = await eventually(() => t.app.get(CallStateService).get(callId, '210'), 10_000, 'the event in the call state');
      expect(stored?.callId).toBe(callId);
    });
  });

  describe('graceful shutdown', () => {
    it('every event answered 202 before and during shutdown is in Redis with its job; later requests are refused, not accepted', async () => {
      const t = await startTestApp({ ROLE: 'api' });
      const accepted: { id: string; callId: string }[] = [];
      const statuses: (number | string)[] = [];
      const send = async () => {
        const callId = newCallId();
        try {
          const res = await sendEvent(t.url, 'hangup', { CallID: callId, CalledExtension: '210', CallStatus: 'ANSWER' });
          statuses.push(res.status);
          if (res.status === 202) accepted.push({ id: res.body.id, callId });
        } catch {
          statuses.push('connection refused');
        }
      };
      // Ten accepted for sure before shutdown, then a burst racing it.
      for (let i = 0; i < 10; i++) await send();
      const burst = Array.from({ length: 40 }, (_, i) => new Promise((r) => setTimeout(r, i * 2)).then(send));
      // Inspect through our own connection: the app's closes with it.
      const queue = t.app.get(EventQueueService);
      const prefix = t.prefix;
      const redis = t.redis;
      const closing = t.app.close();
      await Promise.all(burst);
      await closing;
      expect(accepted.length).toBeGreaterThanOrEqual(10);
      expect(statuses.every((s) => s === 202 || s === 503 || s === 'connection refused')).toBe(true);
      // Accepted means kept: each event is in its screen-pop job (read through BullMQ's API), which
      // carries it until a worker keeps it in the call state.
      const jobs = new Queue(queue.screenPop.name, { connection: redis, prefix });
      for (const { id, callId } of accepted) {
        const job = await Job.fromId(jobs, id);
        expect(job?.data.event.callId).toBe(callId);
      }
      await jobs.close();
      await dropKeys(redis, `${prefix}:*`);
      redis.disconnect();
    });
  });
});
