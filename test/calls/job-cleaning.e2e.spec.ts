import { Queue } from 'bullmq';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeIdPart } from '../../src/ingest/call-event';
import { logCallJobId, QueueName } from '../../src/queue/queues';
import { FakeHubSpot, startFakeHubSpot } from '../fakes/fake-hubspot';
import { eventually, newCallId, sendEvent, startTestApp, TEST_ADMIN_TOKEN, TestApp } from '../support/test-app';

/**
 * Ops clean BullMQ's completed and failed jobs from a queue dashboard (Bull Board's "Clean",
 * Taskforce, or `Queue.clean` from a script) whenever they like. The call state is the
 * connector's own, so calls cleaned mid-way are still logged, once each, with everything their
 * earlier events said. The whole connector against a fake HubSpot, through the real SDK.
 */
describe('Cleaning completed and failed jobs mid-call', () => {
  let hs: FakeHubSpot;
  let t: TestApp;
  let dir: string;
  let queues: Queue[];

  beforeAll(async () => {
    hs = await startFakeHubSpot();
    hs.addContact({ firstname: 'Jane', lastname: 'Roe', company: 'Acme', phone: '(555) 123-4567' });
    dir = mkdtempSync(join(tmpdir(), 'vncc-clean-'));
    writeFileSync(
      join(dir, 'connector.yaml'),
      `calls: { hangupSettleMs: 1500, wrapUpWindowSeconds: 0 }
connections:
  hs: { type: hubspot, basePath: "${hs.url}", auth: { flow: private-app, tokenEnv: HS_TOKEN } }
mappings:
  organisations:
    "0003*": { connection: hs, country: US }
  extensions:
    "0003*204": { owner: { id: "204" } }
    "0003*205": { owner: { id: "205" } }
    "0003*299": { owner: { email: nobody@example.com } }
`,
    );
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), HS_TOKEN: 'pat-test-token' });
    // What a dashboard holds: its own Queue objects on its own connection.
    queues = [QueueName.ScreenPop, QueueName.CallLog].map((name) => new Queue(name, { connection: t.redis, prefix: t.prefix }));
  });
  afterAll(async () => {
    await Promise.all(queues?.map((q) => q.close()) ?? []);
    await t?.close();
    await hs?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The dashboard's Clean of the completed and the failed jobs (grace 0: all of them), on both queues. */
  const clean = async () => {
    for (const q of queues) for (const state of ['completed', 'failed'] as const) await q.clean(0, 0, state);
  };
  const jobs = async (state: 'completed' | 'failed') => (await Promise.all(queues.map((q) => q.getJobCountByTypes(state)))).reduce((a, b) => a + b, 0);
  const popsDone = (n: number) => eventually(async () => ((await queues[0].getJobCountByTypes('completed')) >= n ? true : undefined), 10_000, `${n} pops done`);
  const activities = (callId: string) => hs.calls().filter((c) => String(c.properties.voipnow_call_key ?? '').startsWith(`vn-${escapeIdPart(callId)}`));
  const event = (type: string, callId: string, ext: string, extra: Record<string, string>) =>
    sendEvent(t.url, type, { CallID: callId, CalledDID: '+3222222222', CalledExtension: ext, CalledNumber: '+3222222222', CallFlow: 'IN', ...extra });

  const admin = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await res.json()) as any;
  };
  const unlogged = async (callId: string) => ((await admin('GET', '/admin/unlogged')).groups as { calls: any[] }[]).flatMap((g) => g.calls).find((c) => c.callId === callId);

  it('a call that failed for good stays in the unlogged inbox, with its reason, after its failed job is cleaned, and a replay queues its job again', async () => {
    const id = newCallId();
    const jobId = logCallJobId(id, '0003*299');
    const caller = { CallerIDNum: '0015551234567', CallerIDNam: 'J ROE' };
    expect((await event('dial-in', id, '0003*299', { ...caller, CallStatus: 'CALLING' })).status).toBe(202);
    expect((await event('hangup', id, '0003*299', { ...caller, CallStatus: 'NOANSWER' })).status).toBe(202);
    // The owner's e-mail is no HubSpot user: the log fails for good.
    const failedState = () => eventually(async () => ((await (await queues[1].getJob(jobId))?.getState()) === 'failed' ? true : undefined), 20_000, 'the failed log job');
    await failedState();

    await clean();
    expect(await queues[1].getJob(jobId)).toBeUndefined();
    const listed = await unlogged(id);
    expect(listed).toMatchObject({ jobId, status: 'failed', replayable: true });
    expect(listed.reason).toContain('nobody@example.com');
    expect(listed.reason).toContain('(its job was removed from the queue)');

    expect(await admin('POST', '/admin/unlogged/replay', { ids: [jobId] })).toMatchObject({ replayed: [{ jobId }], refused: [] });
    // It ran again (and failed again: the owner is still missing): the failed job is back, and nothing was logged.
    await failedState();
    expect((await unlogged(id)).reason).not.toContain('removed from the queue');
    expect(activities(id)).toHaveLength(0);
  });

  it('calls whose jobs were cleaned between their events and before their logs are each logged once, with what their first events said', async () => {
    const answered = newCallId();
    const group = newCallId();
    const missed = newCallId();
    // Only the Dial-In carries the caller's number and name: the Hangups leave them out, so the
    // activity can only be right if the Dial-Ins were kept after their jobs were cleaned.
    const caller = { CallerIDNum: '0015551234567', CallerIDNam: 'J ROE' };
    expect((await event('dial-in', answered, '0003*204', { ...caller, CallStatus: 'CALLING' })).status).toBe(202);
    for (const ext of ['0003*204', '0003*205']) expect((await event('dial-in', group, ext, { ...caller, CallStatus: 'CALLING' })).status).toBe(202);
    expect((await event('dial-in', missed, '0003*205', { ...caller, CallStatus: 'CALLING' })).status).toBe(202);
    await popsDone(4);
    expect((await event('answer-in', answered, '0003*204', {})).status).toBe(202);
    expect((await event('answer-in', group, '0003*205', {})).status).toBe(202);
    await popsDone(6);

    await clean();
    expect(await jobs('completed')).toBe(0);
    await new Promise((r) => setTimeout(r, 1100)); // some talk time

    expect((await event('hangup', answered, '0003*204', { CallStatus: 'ANSWER' })).status).toBe(202);
    expect((await event('hangup', group, '0003*204', { CallStatus: 'CANCEL' })).status).toBe(202);
    expect((await event('hangup', group, '0003*205', { CallStatus: 'ANSWER' })).status).toBe(202);
    expect((await event('hangup', missed, '0003*205', { CallStatus: 'NOANSWER' })).status).toBe(202);
    // The Hangups' pops are done and their log jobs wait out the settle time: clean again.
    await popsDone(4);
    await clean();

    for (const id of [answered, group, missed]) await eventually(() => (activities(id).length ? true : undefined), 20_000, `the activity of ${id}`);
    await clean(); // and once more after logging: nothing is logged again
    await new Promise((r) => setTimeout(r, 2500));

    const [a] = activities(answered);
    expect(activities(answered)).toHaveLength(1);
    expect(a.properties).toMatchObject({ hubspot_owner_id: '204', hs_call_status: 'COMPLETED', hs_call_direction: 'INBOUND' });
    expect(Number(a.properties.hs_call_duration)).toBeGreaterThanOrEqual(1000);
    expect(String(a.properties.hs_call_from_number)).toMatch(/5551234567/);

    const [g] = activities(group);
    expect(activities(group)).toHaveLength(1);
    expect(g.properties).toMatchObject({ hubspot_owner_id: '205', hs_call_status: 'COMPLETED' });
    expect(String(g.properties.hs_call_body)).toContain('0003*204 (not answered), 0003*205 (answered)');

    const [m] = activities(missed);
    expect(activities(missed)).toHaveLength(1);
    expect(m.properties).toMatchObject({ hubspot_owner_id: '205', hs_call_status: 'NO_ANSWER' });
    // Every activity is on the caller's contact, found by the number only the Dial-In carried.
    for (const call of [a, g, m]) expect(call.associations?.length ?? 0).toBeGreaterThan(0);
  });
});
