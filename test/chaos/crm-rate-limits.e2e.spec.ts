import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventQueueService } from '../../src/queue/event-queue.service';
import { logCallJobId } from '../../src/queue/queues';
import { startFakeHubSpot } from '../fakes/fake-hubspot';
import { FakeRequest } from '../fakes/fake-server';
import { eventually, startTestApp } from '../support/test-app';
import { addCallers, admin, callLogJobs, callStream, EXTENSION, HS_TOKEN, hubspotConfig, loggedInHubSpot, misassociated, report, sleep } from './support';

/**
 * HubSpot's limits during a stream of calls. Rolling-window 429s (HubSpot's TEN_SECONDLY_ROLLING,
 * its window scaled to 1 s so the test runs in seconds), with or without Retry-After, only delay the
 * jobs (no attempt spent); a DAILY 429 pauses the connection, holds every job, and an admin resume
 * after the quota is back releases them. Either way: nothing lost, nothing logged twice.
 */
const rateLimitBody = (policyName: string, message: string) => ({ status: 'error', message, errorType: 'RATE_LIMIT', correlationId: 'c0ffee', policyName, groupName: 'api' });
const isApi = (req: FakeRequest) => req.path !== '/oauth/v1/token';
/** mulberry32: the same storm on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** 40 known callers in rotation: lookups go to HubSpot (and meet its 429s) until each number is cached. */
async function start() {
  const hs = await startFakeHubSpot({ tokens: [HS_TOKEN] });
  const callers = addCallers(hs, 40);
  const dir = mkdtempSync(join(tmpdir(), 'vncc-chaos-429-'));
  const t = await startTestApp({ CONFIG_FILE: hubspotConfig(dir, hs.url), HS_TOKEN });
  return { hs, t, dir, ...callers };
}

describe('Chaos: HubSpot rate limits', () => {
  it('429 storm (2 in 5 requests: rolling-window 429s with and without Retry-After): jobs wait, none fails, every call logged exactly once', async () => {
    const { hs, t, dir, caller, contactOf } = await start();
    try {
      // A seeded share of requests (a fifth each) gets one of HubSpot's two 429 shapes: with
      // Retry-After, or with only the X-HubSpot-RateLimit-* headers naming the (scaled-down, 1 s)
      // window. Random rather than every n-th, so no call's requests can fall into a fixed pattern.
      const storm = { retryAfter: 0, window: 0 };
      const random = seeded(6);
      let draw = 0;
      const decide = (req: FakeRequest) => (isApi(req) ? (draw = random()) : (draw = 1));
      hs.inject({
        match: (req) => decide(req) < 0.2 && ++storm.retryAfter > 0,
        times: Number.MAX_SAFE_INTEGER,
        status: 429,
        headers: { 'Retry-After': '1' },
        body: rateLimitBody('TEN_SECONDLY_ROLLING', 'You have reached your ten_secondly_rolling limit.'),
      });
      hs.inject({
        match: () => draw >= 0.2 && draw < 0.4 && ++storm.window > 0, // the draw made for this request just above
        times: Number.MAX_SAFE_INTEGER,
        status: 429,
        headers: { 'X-HubSpot-RateLimit-Max': '100', 'X-HubSpot-RateLimit-Remaining': '0', 'X-HubSpot-RateLimit-Interval-Milliseconds': '1000' },
        body: rateLimitBody('TEN_SECONDLY_ROLLING', 'You have reached your ten_secondly_rolling limit.'),
      });

      // Calls keep coming until the CRM has answered both kinds of 429 at least twice (at least 2.5 s).
      const stream = callStream([t.url], 2, 20, caller);
      await sleep(2500);
      await eventually(() => (storm.retryAfter >= 2 && storm.window >= 2 ? true : undefined), 20_000, 'both kinds of 429').catch(() => undefined);
      await stream.untilCalls(12);
      await stream.stop();
      const r = await report('crm-429-storm', stream, () => loggedInHubSpot(hs, stream.started), {
        ms: 45_000,
        extra: async () => {
          const jobs = await callLogJobs(t.env.redisUrl, t.prefix);
          return {
            answered429RetryAfter: storm.retryAfter,
            answered429Window: storm.window,
            failedAttempts: jobs.failedAttempts,
            failedSet: jobs.counts.failed,
            misassociated: misassociated(hs, stream, contactOf),
          };
        },
      });
      expect(r.callsAccepted).toBeGreaterThan(10);
      expect(r).toMatchObject({ duplicates: 0, lost: 0, failedSet: 0, failedAttempts: 0, misassociated: 0 });
      expect(r.crmRecords).toBe(r.callsAccepted + r.refusedButLogged); // and no record of a call never made
      expect(r.answered429RetryAfter).toBeGreaterThan(0);
      expect(r.answered429Window).toBeGreaterThan(0);
    } finally {
      await t.close();
      await hs.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('DAILY 429: the connection pauses and holds every job; after the quota is back, an admin resume drains them, each call logged once', async () => {
    const { hs, t, dir, caller, contactOf } = await start();
    try {
      // A few calls are logged, then the day's quota runs out while calls keep coming.
      const stream = callStream([t.url], 2, 20, caller);
      await eventually(() => (hs.calls().length >= 3 ? true : undefined), 20_000, 'a few calls logged before the quota runs out');
      hs.setRateLimit({ perWindow: 1_000_000, windowMs: 1000, daily: 0 });
      const acceptedBefore = stream.accepted.size;
      await sleep(1500);
      await stream.untilCalls(Math.max(12, acceptedBefore + 5)); // some of them after the quota ran out
      await stream.stop();

      // Every accepted call's job has run at least once: it is logged, or held (delayed) by the pause. None failed.
      const queue = t.app.get(EventQueueService).callLog;
      const states = async () => Promise.all([...stream.accepted].map(async (id) => (await queue.getJob(logCallJobId(id, EXTENSION)))?.getState()));
      const held = await eventually(
        async () => {
          const s = await states();
          return s.every((state) => state === 'completed' || state === 'delayed') ? s.filter((state) => state === 'delayed').length : undefined;
        },
        20_000,
        'every accepted call to be logged or held',
      );
      const ready = (await (await fetch(`${t.url}/health/ready`)).json()) as { crm: Record<string, { pausedUntil?: string }> };
      const loggedBeforeResume = [...stream.accepted].filter((id) => loggedInHubSpot(hs, stream.started).has(id)).length;
      expect((await callLogJobs(t.env.redisUrl, t.prefix)).counts.failed).toBe(0);
      expect(held).toBeGreaterThan(0);
      expect(loggedBeforeResume + held).toBe(stream.accepted.size);
      expect(ready.crm.hs.pausedUntil).toEqual(expect.any(String));
      expect(Date.parse(ready.crm.hs.pausedUntil!)).toBeGreaterThan(Date.now() + 60_000); // until HubSpot's next day, not a retry

      // HubSpot's quota is back (a new day, or a bigger plan): ops resume the connection.
      hs.setRateLimit({ perWindow: 1_000_000, windowMs: 1000 });
      expect((await admin(t.url, 'POST', '/admin/connections/hs/resume')).status).toBe(200);
      const r = await report('crm-429-daily', stream, () => loggedInHubSpot(hs, stream.started), {
        ms: 20_000,
        extra: async () => {
          const jobs = await callLogJobs(t.env.redisUrl, t.prefix);
          return {
            heldByPause: held,
            loggedBeforeResume,
            pauses: t.logs.filter((l) => l.event === 'crm.paused').length,
            failedSet: jobs.counts.failed,
            misassociated: misassociated(hs, stream, contactOf),
          };
        },
      });
      expect(r.callsAccepted).toBeGreaterThan(10);
      expect(r).toMatchObject({ duplicates: 0, lost: 0, failedSet: 0, misassociated: 0 });
      expect(r.crmRecords).toBe(r.callsAccepted + r.refusedButLogged); // and no record of a call never made
      expect(r.pauses).toBeGreaterThan(0);
    } finally {
      await t.close();
      await hs.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
