import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventQueueService } from '../../src/queue/event-queue.service';
import { logCallJobId } from '../../src/queue/queues';
import { eventually, newCallId, sendEvent, startTestApp, TEST_ADMIN_TOKEN, TestApp } from '../support/test-app';

/**
 * What ops see of each call (the recent-calls list) and in aggregate (metrics), for every way a
 * call can end: popped and logged, skipped for each kind of reason, failed after its retries.
 * No defaults: extensions outside organisation 0003 and 0004 are unmapped.
 */
const CONFIG = `calls: { hangupSettleMs: 20 }
workers: { callLogAttempts: 1 }
connections:
  demo: { type: file, contactsCsv: contacts.csv, callLogFile: calls.jsonl }
  broken: { type: file, contactsCsv: contacts.csv, callLogFile: a-directory }
mappings:
  organisations:
    "0003*": { connection: demo, country: US }
    "0004*": { connection: broken, country: US }
  extensions:
    "0003*299": { actions: { popOnDialIn: false, unknownCaller: ignore } }
`;

describe('Recent calls and metrics after simulated calls', () => {
  let t: TestApp;
  let dir: string;
  const admin = async (path: string) => (await (await fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).json()) as any;
  const call = async (ext: string, from: string, status = 'ANSWER') => {
    const callId = newCallId();
    const params = { CallID: callId, CallerIDNum: from, CalledExtension: ext, CallFlow: 'IN' };
    expect((await sendEvent(t.url, 'dial-in', params)).status).toBe(202);
    if (status === 'ANSWER') expect((await sendEvent(t.url, 'answer-in', params)).status).toBe(202);
    expect((await sendEvent(t.url, 'hangup', { ...params, CallStatus: status })).status).toBe(202);
    return callId;
  };
  const finished = (callId: string, ext: string) =>
    eventually(
      async () => {
        const state = await (await t.app.get(EventQueueService).callLog.getJob(logCallJobId(callId, ext)))?.getState();
        return state === 'completed' || state === 'failed' ? state : undefined;
      },
      15_000,
      `the call-log job of ${ext}`,
    );
  const recent = async (callId: string) => (await admin('/admin/calls/recent?limit=100')).calls.find((c: any) => c.callId === callId);
  /** A pop is noted after its card is published, which may be after the call log finished. */
  const settledPop = (callId: string) => eventually(async () => ((await recent(callId))?.pop ? recent(callId) : undefined), 10_000, 'the pop note');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vncc-recent-'));
    writeFileSync(join(dir, 'contacts.csv'), 'id,name,company,phone\nc-001,Jane Roe,Acme Corp,(555) 123-4567\n');
    mkdirSync(join(dir, 'a-directory'));
    writeFileSync(join(dir, 'connector.yaml'), CONFIG);
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml') });
  });
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a known caller: popped with the match, logged as which CRM record', async () => {
    const id = await call('0003*210', '0015551234567');
    expect(await finished(id, '0003*210')).toBe('completed');
    const c = await settledPop(id);
    const line = (await readFile(join(dir, 'calls.jsonl'), 'utf8')).split('\n').find((l) => l.includes(id))!;
    expect(c).toMatchObject({
      outcome: 'answered',
      pop: { status: 'popped', event: 'dial-in', lookup: 'done', connection: 'demo', matchIds: ['c-001'] },
      log: { status: 'logged', connection: 'demo', matchId: 'c-001', activity: { id: JSON.parse(line).id, created: true } },
    });
  });

  it.each([
    ['an unmapped extension', '0009*100', '0015551234567', 'ANSWER', 'extension not mapped to a CRM connection'],
    ['an unknown caller with unknownCaller: ignore', '0003*299', '0013125550000', 'ANSWER', 'unknown caller (unknownCaller: ignore)'],
    ['an internal call', '0003*210', '0003*211', 'ANSWER', 'internal call'],
  ])('%s: accepted, skipped with the reason, and counted', async (_what, ext, from, status, reason) => {
    const id = await call(ext, from, status);
    expect(await finished(id, ext)).toBe('completed');
    expect((await recent(id)).log).toMatchObject({ status: 'skipped', reason });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`vncc_calls_total\\{result="skipped",reason="${reason.replace(/[()]/g, '\\$&')}"\\} [1-9]`));
  });

  it('a pop the mapping turns off is noted as skipped, with why', async () => {
    const id = await call('0003*299', '0015551234567');
    await finished(id, '0003*299');
    expect((await settledPop(id)).pop).toMatchObject({ status: 'skipped', reason: 'popOnDialIn is off for this extension' });
  });

  it('a call whose last attempt fails is in the failed set, noted on the call and counted as failed', async () => {
    const id = await call('0004*100', '0015551234567');
    expect(await finished(id, '0004*100')).toBe('failed');
    expect((await recent(id)).log).toMatchObject({ status: 'failed', connection: 'broken', reason: expect.stringMatching(/^Cannot append to .*a-directory: .*\(attempt 1 of 1\)$/) });
    const failed = await admin('/admin/jobs/failed?queue=call-log');
    expect(failed.jobs.find((j: any) => j.data.callId === id)).toMatchObject({ attemptsMade: 1, failedReason: expect.stringContaining('Cannot append') });
    expect(await (await fetch(`${t.url}/metrics`)).text()).toMatch(/vncc_calls_total\{result="failed",reason="retries exhausted"\} 1\n/);
  });

  it('the metrics cover every part of the path, with bounded labels', async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    for (const expected of [
      /vncc_events_received_total\{type="dial-in",status="202"\} [1-9]/,
      /vncc_events_received_total\{type="hangup",status="202"\} [1-9]/,
      /vncc_queue_jobs\{queue="call-log",state="failed"\} 1\n/,
      /vncc_queue_jobs\{queue="screen-pop",state="waiting"\} \d+/,
      /vncc_job_duration_seconds_count\{queue="screen-pop",result="completed"\} [1-9]/,
      /vncc_job_duration_seconds_count\{queue="call-log",result="completed"\} [1-9]/,
      /vncc_job_duration_seconds_count\{queue="call-log",result="failed"\} 1\n/,
      /vncc_crm_request_duration_seconds_count\{connection="demo",operation="lookup",result="ok"\} [1-9]/,
      /vncc_crm_request_duration_seconds_count\{connection="broken",operation="logCall",result="retryable"\} 1\n/,
      /vncc_lookup_cache_total\{connection="demo",result="hit"\} [1-9]/,
      /vncc_lookup_cache_total\{connection="demo",result="miss"\} [1-9]/,
      /vncc_screen_pop_latency_seconds_count\{lookup="done"\} [1-9]/,
      /vncc_calls_total\{result="logged",reason=""\} [1-9]/,
    ]) {
      expect(text).toMatch(expected);
    }
    // No CallIDs, numbers or extensions as label values.
    const labelValues = [...text.matchAll(/="([^"]*)"/g)].map((m) => m[1]);
    expect(labelValues.filter((v) => /\d{5,}|\*/.test(v))).toEqual([]);
  });

  it('ops can discard a failed call; it is gone from the failed set and a second discard is a 404', async () => {
    const { jobs } = await admin('/admin/jobs/failed?queue=call-log');
    expect(jobs).toHaveLength(1);
    const discard = () => fetch(`${t.url}/admin/jobs/failed/${encodeURIComponent(jobs[0].id)}?queue=call-log`, { method: 'DELETE', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(await (await discard()).json()).toEqual({ discarded: jobs[0].id });
    expect((await admin('/admin/jobs/failed?queue=call-log')).total).toBe(0);
    expect((await discard()).status).toBe(404);
  });
});
