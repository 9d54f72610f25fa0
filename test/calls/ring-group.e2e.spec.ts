import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallUpdate } from '../../src/calls/call-update.publisher';
import { WrapUpService } from '../../src/calls/wrap-up.service';
import { escapeIdPart } from '../../src/ingest/call-event';
import { createRedis, RedisClient } from '../../src/redis/redis-connection';
import { RedisKeys } from '../../src/redis/redis-keys';
import { FakeHubSpot, startFakeHubSpot } from '../fakes/fake-hubspot';
import { eventually, newCallId, sendEvent, startTestApp, subscribeUpdates, TestApp } from '../support/test-app';

/**
 * A customer call that rings several extensions with one CallID (ring group, queue, transfer) is
 * one CRM activity, owned by whoever answered; the other members' cards say who took it. The
 * whole connector against a fake HubSpot, through the real SDK.
 */
describe('Ring groups, queues and transfers: one call, one activity', () => {
  let hs: FakeHubSpot;
  let t: TestApp;
  let dir: string;
  let sub: RedisClient;
  const updates: CallUpdate[] = [];
  let janeId: string;
  const GROUP = ['0003*204', '0003*205', '0003*206'];

  beforeAll(async () => {
    hs = await startFakeHubSpot();
    janeId = hs.addContact({ firstname: 'Jane', lastname: 'Roe', company: 'Acme', phone: '(555) 123-4567' });
    dir = mkdtempSync(join(tmpdir(), 'vncc-ring-'));
    writeFileSync(
      join(dir, 'connector.yaml'),
      `calls: { hangupSettleMs: 300, wrapUpWindowSeconds: 4 }
connections:
  hs: { type: hubspot, displayName: "HubSpot Sales", basePath: "${hs.url}", auth: { flow: private-app, tokenEnv: HS_TOKEN } }
mappings:
  organisations:
    "0003*": { connection: hs, country: US }
    "0004*": { connection: hs, country: US, actions: { callLogging: per-extension } }
    "0005*": { connection: hs, country: US, owner: { id: "500" }, actions: { followUpMissed: true } }
  extensions:
    "0003*204": { owner: { id: "204" }, label: "Ann Lee" }
    "0003*205": { owner: { id: "205" }, label: "Bob Diaz" }
    "0003*206": { owner: { id: "206" } }
    "0003*299": { owner: { email: nobody@example.com } }
    "0004*204": { owner: { id: "4204" } }
    "0004*205": { owner: { id: "4205" } }
`,
    );
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), HS_TOKEN: 'pat-test-token' });
    sub = await subscribeUpdates(t.prefix, updates);
  });
  afterAll(async () => {
    sub?.disconnect();
    await t?.close();
    await hs?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const inbound = (callId: string, ext: string, from = '0015551234567') => ({
    CallID: callId,
    CallerIDNum: from,
    CallerIDNam: 'J ROE',
    CalledDID: '+3222222222',
    CalledExtension: ext,
    CalledNumber: '+3222222222',
    CallFlow: 'IN',
  });
  const send = (type: string, callId: string, ext: string, status?: string) => sendEvent(t.url, type, { ...inbound(callId, ext), ...(status ? { CallStatus: status } : {}) });
  const activities = (callId: string) => hs.calls().filter((c) => String(c.properties.voipnow_call_key ?? '').startsWith(`vn-${escapeIdPart(callId)}`));
  const ringAll = async (callId: string, group: string[]) => {
    for (const ext of group) expect((await send('dial-in', callId, ext, 'CALLING')).status).toBe(202);
  };
  /** An agent acts on a card, which is there once the event's pop has run (and kept the event). */
  const cardOf = (callId: string, ext: string, event = 'dial-in') =>
    eventually(() => updates.find((u) => u.record.callId === callId && u.record.extension === ext && u.event === event), 10_000, `${ext}'s ${event} card`);
  /** Waits for the activity count to reach `n`, then long enough for any stray second one to show. */
  const logged = async (callId: string, n = 1) => {
    await eventually(() => (activities(callId).length >= n ? true : undefined), 20_000, `${n} activities for ${callId}`);
    await new Promise((r) => setTimeout(r, 1500));
    return activities(callId);
  };

  it("answered on one member: one answered activity owned by that member, and the others' cards say who took it", async () => {
    const id = newCallId();
    await ringAll(id, GROUP);
    await send('answer-in', id, '0003*205');
    // VoipNow stops ringing the others: their Hangups come at once, the answering one's later.
    await send('hangup', id, '0003*204', 'CANCEL');
    await send('hangup', id, '0003*206', 'CANCEL');
    await eventually(() => updates.find((u) => u.record.callId === id && u.record.extension === '0003*204' && u.group?.answeredBy.extension === '0003*205'), 10_000, "204's card to say 205 answered");
    // 206's card is told by another worker at the same moment: wait for it too.
    const taken = await eventually(() => updates.find((u) => u.record.callId === id && u.record.extension === '0003*206' && u.group), 10_000, "206's card to say who answered");
    expect(taken?.group?.answeredBy).toEqual({ extension: '0003*205', label: 'Bob Diaz' });
    // While 205 talks, nothing is logged for the members who did not answer.
    await new Promise((r) => setTimeout(r, 1200));
    expect(activities(id)).toHaveLength(0);
    await send('hangup', id, '0003*205', 'ANSWER');
    const [call] = await logged(id);
    expect(call.properties).toMatchObject({ hubspot_owner_id: '205', hs_call_status: 'COMPLETED' });
    expect(String(call.properties.hs_call_body)).toContain('Rang: 0003*204 (not answered), 0003*205 (answered), 0003*206 (not answered)');
    expect(call.associations?.map((a) => a.to.id)).toContain(janeId);
    expect(activities(id)).toHaveLength(1);
  });

  it('missed by every member: one missed activity, owned by the first member rung', async () => {
    const id = newCallId();
    await ringAll(id, GROUP);
    await Promise.all(GROUP.map((ext) => send('hangup', id, ext, 'NOANSWER')));
    const [call] = await logged(id);
    expect(call.properties).toMatchObject({ hubspot_owner_id: '204', hs_call_status: 'NO_ANSWER' });
    expect(activities(id)).toHaveLength(1);
  });

  it('a transfer within the CallID: one activity, owned by the first to answer, talk time to the last hangup', async () => {
    const id = newCallId();
    await send('dial-in', id, '0003*205', 'CALLING');
    await send('answer-in', id, '0003*205');
    await send('dial-in', id, '0003*206', 'CALLING');
    await send('hangup', id, '0003*205', 'ANSWER');
    await send('answer-in', id, '0003*206');
    await new Promise((r) => setTimeout(r, 1100));
    await send('hangup', id, '0003*206', 'ANSWER');
    const [call] = await logged(id);
    expect(call.properties.hubspot_owner_id).toBe('205');
    expect(Number(call.properties.hs_call_duration)).toBeGreaterThanOrEqual(1000);
    expect(String(call.properties.hs_call_body)).toContain('0003*206 (answered)');
  });

  it('callLogging: per-extension keeps one activity per extension rung', async () => {
    const id = newCallId();
    await ringAll(id, ['0004*204', '0004*205']);
    await send('answer-in', id, '0004*205');
    await send('hangup', id, '0004*204', 'CANCEL');
    await send('hangup', id, '0004*205', 'ANSWER');
    const calls = await logged(id, 2);
    expect(calls.map((c) => c.properties.hubspot_owner_id).sort()).toEqual(['4204', '4205']);
  });

  it('followUpMissed: a missed ring-group call makes one follow-up task for its owner, attached to the caller', async () => {
    const id = newCallId();
    await ringAll(id, ['0005*101', '0005*102']);
    await Promise.all(['0005*101', '0005*102'].map((ext) => send('hangup', id, ext, 'NOANSWER')));
    await logged(id);
    const tasks = () => hs.tasks().filter((task) => JSON.stringify(task.properties).includes(escapeIdPart(id)));
    await eventually(() => (tasks().length ? true : undefined), 10_000, 'the follow-up task');
    await new Promise((r) => setTimeout(r, 1000));
    expect(tasks()).toHaveLength(1);
    expect(tasks()[0].properties).toMatchObject({ hubspot_owner_id: '500', hs_task_status: 'NOT_STARTED' });
    expect(String(tasks()[0].properties.hs_task_subject)).toContain('Call back Jane Roe');
    expect(tasks()[0].associations?.map((a) => a.to.id)).toContain(janeId);
  });

  it('"Create contact" from two members\' cards for one unknown caller creates one contact, and the call is logged against it', async () => {
    const id = newCallId();
    const from = '0015559990001';
    for (const ext of ['0003*204', '0003*205']) await sendEvent(t.url, 'dial-in', { ...inbound(id, ext, from), CallStatus: 'CALLING' });
    await Promise.all(['0003*204', '0003*205'].map((ext) => cardOf(id, ext)));
    const wrapUps = t.app.get(WrapUpService);
    const before = hs.contacts.length;
    const [a, b] = await Promise.all([wrapUps.createContact(id, '0003*204', { name: 'Sam Poe' }), wrapUps.createContact(id, '0003*205', {})]);
    expect(a.id).toBe(b.id);
    expect(hs.contacts.length).toBe(before + 1);
    await sendEvent(t.url, 'answer-in', inbound(id, '0003*205', from));
    await sendEvent(t.url, 'hangup', { ...inbound(id, '0003*204', from), CallStatus: 'CANCEL' });
    await sendEvent(t.url, 'hangup', { ...inbound(id, '0003*205', from), CallStatus: 'ANSWER' });
    const [call] = await logged(id);
    expect(call.associations?.map((x) => x.to.id)).toEqual([a.id]);
  });

  describe('wrap-up', () => {
    let page: RedisClient;
    beforeAll(async () => {
      // An agent page on 0003*205: the log waits the wrap-up window only when a page watches.
      page = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 'plain');
      await page.subscribe(new RedisKeys(t.prefix).updates('0003*205'));
    });
    afterAll(() => page?.disconnect());

    const answeredOn205 = async (id: string) => {
      await ringAll(id, ['0003*204', '0003*205']);
      await send('answer-in', id, '0003*205');
      await send('hangup', id, '0003*204', 'CANCEL');
      await cardOf(id, '0003*205', 'answer-in');
    };

    it('saved in the window after Hangup: notes and disposition land with the log, on the one activity', async () => {
      const id = newCallId();
      await answeredOn205(id);
      const wrapUps = t.app.get(WrapUpService);
      await wrapUps.save(id, '0003*205', { notes: 'Wants a quote for 40 seats' });
      await send('hangup', id, '0003*205', 'ANSWER');
      // The card learns when the log will be written if the agent does not finish first.
      await eventually(() => updates.find((u) => u.record.callId === id && u.offers?.logsAt), 10_000, 'logsAt on the card');
      await new Promise((r) => setTimeout(r, 1000));
      expect(activities(id)).toHaveLength(0);
      await wrapUps.save(id, '0003*205', { disposition: 'connected', done: true });
      const [call] = await logged(id);
      expect(String(call.properties.hs_call_body)).toMatch(/^Wants a quote for 40 seats\n\n— Call details —/);
      expect(call.properties.hs_call_disposition).toBe('f240bbac-87c9-4f6e-bf70-924b57d47db7');
      await eventually(() => updates.find((u) => u.record.callId === id && u.wrapUp?.state === 'logged'), 10_000, 'the card to say the wrap-up was logged');
      expect(activities(id)).toHaveLength(1);
    });

    it('saved after the log: an update of the same activity, and a second edit updates it again', async () => {
      const id = newCallId();
      await answeredOn205(id);
      await send('hangup', id, '0003*205', 'ANSWER');
      // Nobody wraps up: the window runs out and the call is logged without notes.
      const [call] = await logged(id);
      expect(String(call.properties.hs_call_body)).not.toContain('Call details');
      const wrapUps = t.app.get(WrapUpService);
      await wrapUps.save(id, '0003*204', { notes: 'Called back later: voicemail', disposition: 'left-voicemail' });
      await eventually(() => (String(activities(id)[0]?.properties.hs_call_body).startsWith('Called back later') ? true : undefined), 15_000, 'the notes on the activity');
      await wrapUps.save(id, '0003*205', { notes: 'Second thoughts' });
      await eventually(() => (String(activities(id)[0]?.properties.hs_call_body).startsWith('Second thoughts') ? true : undefined), 15_000, 'the edited notes on the activity');
      expect(activities(id)).toHaveLength(1);
      expect(activities(id)[0].properties.hs_call_disposition).toBe('b2cf5968-551e-4856-9783-52b3da59a7d0');
    });

    it('a saved disposition can be cleared; a wrap-up whose call fails for good says so on the card, with the reason', async () => {
      const id = newCallId();
      const wrapUps = t.app.get(WrapUpService);
      await send('dial-in', id, '0003*299', 'CALLING');
      await send('answer-in', id, '0003*299');
      await cardOf(id, '0003*299', 'answer-in');
      await wrapUps.save(id, '0003*299', { notes: 'Important', disposition: 'connected' });
      expect((await wrapUps.save(id, '0003*299', { disposition: '' })).disposition).toBeUndefined();
      // The owner's e-mail matches no HubSpot user: a permanent failure, left for ops to fix and replay.
      await send('hangup', id, '0003*299', 'ANSWER');
      const failed = await eventually(() => updates.find((u) => u.record.callId === id && u.wrapUp?.state === 'failed'), 15_000, 'the failed wrap-up on the card');
      expect(failed.wrapUp).toMatchObject({ notes: 'Important', reason: expect.stringContaining('nobody@example.com') });
      expect(activities(id)).toHaveLength(0);
    });

    it('refuses a disposition the connection does not offer and a record that was not found for the caller', async () => {
      const id = newCallId();
      await answeredOn205(id);
      const wrapUps = t.app.get(WrapUpService);
      await expect(wrapUps.save(id, '0003*205', { disposition: 'made-up' })).rejects.toMatchObject({ status: 400 });
      await expect(wrapUps.save(id, '0003*205', { recordId: '999999' })).rejects.toMatchObject({ status: 400 });
      await expect(wrapUps.save('no-such-call', '0003*205', { notes: 'x' })).rejects.toMatchObject({ status: 404 });
    });
  });
});
