import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventQueueService } from '../../src/queue/event-queue.service';
import { eventually, newCallId, sendEvent, startTestApp, TEST_ADMIN_TOKEN, TestApp } from '../support/test-app';

const config = (target: string) => `calls: { hangupSettleMs: 20 }
connections:
  a: { type: file, contactsCsv: contacts.csv, callLogFile: calls-a.jsonl }
  b: { type: file, contactsCsv: contacts.csv, callLogFile: calls-b.jsonl }
mappings:
  defaults: { connection: ${target}, country: US }
`;
const BROKEN = `connections:
  a: { type: file, contactsCsv: contacts.csv, callLogFile: calls-a.jsonl }
mappings:
  defaults: { connection: b }
`;

/**
 * Mappings change under a running stream of calls: a file edit, a refused (broken) file and a
 * an admin reload each happen while senders keep sending; afterwards every accepted call is in exactly
 * one CRM, exactly once, and each went where the mapping in force after its Hangup sent it.
 */
describe('Hot reload while events flow', () => {
  let t: TestApp;
  let dir: string;
  const sent: { callId: string; hungUpAt: number }[] = [];
  let running = true;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vncc-reload-'));
    writeFileSync(join(dir, 'contacts.csv'), 'id,name,phone\nc-1,Jane Roe,(555) 123-4567\n');
    writeFileSync(join(dir, 'connector.yaml'), config('a'));
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml') });
  });
  afterAll(async () => {
    running = false;
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const resolved = async () => {
    const res = await fetch(`${t.url}/admin/mappings/resolve?extension=0003*210`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    return ((await res.json()) as { connection: string }).connection;
  };
  const until = (target: string, what: string) => eventually(async () => ((await resolved()) === target ? Date.now() : undefined), 5000, what);
  const sender = async () => {
    while (running) {
      const callId = newCallId();
      const params = { CallID: callId, CallerIDNum: '0015551234567', CalledExtension: '0003*210', CallFlow: 'IN' };
      expect((await sendEvent(t.url, 'dial-in', params)).status).toBe(202);
      expect((await sendEvent(t.url, 'hangup', { ...params, CallStatus: 'ANSWER' })).status).toBe(202);
      sent.push({ callId, hungUpAt: Date.now() });
      await pause(10); // a call centre's pace, not a flood: the call log keeps up
    }
  };
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const logged = async (file: string) =>
    (await readFile(join(dir, file), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { callId: string }).callId);

  it('swaps mappings mid-stream, keeps the last good one when a file is broken, and loses or doubles no call', async () => {
    const senders = [sender(), sender(), sender()];
    await pause(700);

    writeFileSync(join(dir, 'connector.yaml'), config('b'));
    const toB = await until('b', 'the file-change reload to b');
    await pause(700);

    writeFileSync(join(dir, 'connector.yaml'), BROKEN);
    await eventually(() => (t.logs.some((l) => l.event === 'config.refused' && l.trigger === 'file change') ? true : undefined), 5000, 'the refused reload');
    const brokenFrom = Date.now();
    await pause(700);
    expect(await resolved()).toBe('b');

    // The admin API applies the file at once (the watcher would follow 200 ms later with the same file).
    // Let the call log catch up with every call hung up so far (senders keep sending): a job still
    // queued when the mapping changes back would rightly go to a, which is not what we check here.
    const reloadFrom = Date.now();
    await eventually(
      async () => {
        const done = new Set([...(await logged('calls-a.jsonl')), ...(await logged('calls-b.jsonl'))]);
        return sent.filter((s) => s.hungUpAt <= reloadFrom).every((s) => done.has(s.callId)) ? true : undefined;
      },
      20_000,
      'the call log to catch up',
    );
    writeFileSync(join(dir, 'connector.yaml'), config('a'));
    const reload = await fetch(`${t.url}/admin/config/reload`, { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(reload.status).toBe(200);
    const backToA = await until('a', 'the reload back to a');
    await pause(500);

    running = false;
    await Promise.all(senders);
    const queue = t.app.get(EventQueueService).callLog;
    await eventually(
      async () => {
        const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
        return c.waiting + c.active + c.delayed === 0 && c.completed >= sent.length ? c : undefined;
      },
      30_000,
      'every call-log job to finish',
    );
    expect((await queue.getJobCounts('failed')).failed).toBe(0);

    const [inA, inB] = [await logged('calls-a.jsonl'), await logged('calls-b.jsonl')];
    const all = [...inA, ...inB];
    expect(new Set(all).size).toBe(all.length); // none twice, not even across the two CRMs
    expect(new Set(all)).toEqual(new Set(sent.map((s) => s.callId))); // none lost
    // The call-log job resolves the mapping when it runs, i.e. after the Hangup.
    const where = (callId: string) => (inA.includes(callId) ? 'a' : 'b');
    const phase = (from: number, to: number) => sent.filter((s) => s.hungUpAt > from && s.hungUpAt < to);
    const whileB = phase(toB, reloadFrom);
    expect(whileB.length).toBeGreaterThan(10);
    expect(whileB.map((s) => where(s.callId)).filter((c) => c !== 'b')).toEqual([]);
    expect(phase(brokenFrom, reloadFrom).length).toBeGreaterThan(5); // calls were flowing while the broken file sat there
    expect(
      phase(backToA, Infinity)
        .map((s) => where(s.callId))
        .filter((c) => c !== 'a'),
    ).toEqual([]);
    expect(inA.length).toBeGreaterThan(10);
  });
});
