import pino from 'pino';
import { parseConfig } from '../../config/config.loader';
import { ConnectorConfig } from '../../config/config.schema';
import { CallLogInput, CrmError, CrmHealth, CrmMatch, CrmProvider, FollowUpInput, LoggedActivity, NewContactInput, PhoneQuery, ActivityPatch } from '../../crm/crm-provider';
import { LookupResult } from '../../crm/lookup.service';
import { Disposition } from '../../crm/provider-definition';
import { Mappings } from '../../mappings/mapping.schema';
import { resolveMapping, ResolvedMapping } from '../../mappings/resolve-mapping';
import { MetricsService } from '../../metrics/metrics.service';
import { RedisKeys } from '../../redis/redis-keys';
import { CallEvent, EventType } from '../../ingest/call-event';
import { CallRecord, foldCallRecord } from '../call-record';
import { StoredWrapUp } from '../call-state.service';
import { CallUpdate } from '../call-update.publisher';
import { CardService } from '../card.service';
import { AlreadyLogged } from './already-logged.usecase';
import { CallCrm } from './call-crm';
import { CallLogOutcome, LogJob, LogStep, PermanentLogFailure } from './call-to-log';
import { ClaimCall } from './claim-call.usecase';
import { CrmWriteGuard } from './crm-write-guard.usecase';
import { FindCallToLog } from './find-call-to-log.usecase';
import { FinishLoggedCall } from './finish-logged-call.usecase';
import { FollowUpMissedCall } from './follow-up-missed-call.usecase';
import { LogCall } from './log-call.usecase';
import { LedgerRedis, LogLedger } from './log-ledger';
import { LogOutcomes } from './log-outcomes';
import { LoggedCallCards } from './logged-call-cards';
import { UpdateCallWithWrapUp } from './update-call-with-wrap-up.usecase';
import { UpdateLoggedCall } from './update-logged-call.usecase';
import { WrapUpWindow } from './wrap-up-window.usecase';
import { WriteCallActivity } from './write-call-activity.usecase';

const CONNECTION = 'crm';
const CALLER = '+15551234567';
const T0 = Date.now() - 120_000;

/** A CRM that keeps its records and activities in memory; `failNext` makes its next write fail. */
class FakeCrm implements CrmProvider {
  readonly type = 'fake';
  readonly connection = CONNECTION;
  readonly contacts: CrmMatch[] = [{ connection: CONNECTION, recordType: 'Contact', id: 'c-ann', displayName: 'Ann Lee', phone: CALLER }];
  readonly activities = new Map<string, CallLogInput & { id: string }>();
  readonly updates: { id: string; patch: ActivityPatch }[] = [];
  readonly tasks = new Map<string, FollowUpInput>();
  writes = 0;
  taskRequests = 0;
  failNext?: CrmError;
  /** Runs while an activity is being written (an agent saving a wrap-up at that moment, say). */
  onWrite?: () => void;

  findContactsByPhone(query: PhoneQuery): Promise<CrmMatch[]> {
    return Promise.resolve(this.contacts.filter((c) => c.phone === query.e164));
  }

  logCall(input: CallLogInput): Promise<LoggedActivity> {
    this.writes++;
    this.throwIfFailing();
    this.onWrite?.();
    const existing = this.activities.get(input.key);
    if (existing) return Promise.resolve({ id: existing.id, created: false });
    const id = `a-${this.activities.size + 1}`;
    this.activities.set(input.key, { ...input, id });
    return Promise.resolve({ id, url: `https://crm.test/${id}`, created: true });
  }

  updateCall(activityId: string, patch: ActivityPatch): Promise<void> {
    this.throwIfFailing();
    this.updates.push({ id: activityId, patch });
    return Promise.resolve();
  }

  createTask(input: FollowUpInput): Promise<LoggedActivity> {
    this.taskRequests++;
    const created = !this.tasks.has(input.key);
    this.tasks.set(input.key, input);
    return Promise.resolve({ id: `t-${input.key}`, created });
  }

  createContact(input: NewContactInput): Promise<CrmMatch> {
    const match: CrmMatch = { connection: CONNECTION, recordType: 'Lead', id: `lead-${input.key}`, displayName: input.name ?? input.number, phone: input.number };
    this.contacts.push(match);
    return Promise.resolve(match);
  }

  health(): Promise<CrmHealth> {
    return Promise.resolve({ ok: true });
  }

  private throwIfFailing() {
    const err = this.failNext;
    this.failNext = undefined;
    if (err) throw err;
  }
}

/** The call state: leg records by (CallID, extension), wrap-ups, and the notes the workers leave on legs. */
class FakeCallState {
  readonly records = new Map<string, CallRecord>();
  readonly wrapUps = new Map<string, StoredWrapUp>();
  readonly notes = new Map<string, unknown>();

  put(record: CallRecord) {
    this.records.set(`${record.callId}|${record.extension}`, record);
  }
  get(callId: string, extension: string): Promise<CallRecord | undefined> {
    return Promise.resolve(this.records.get(`${callId}|${extension}`));
  }
  /** Holds records, not events: the events kept for a leg replace its record by their fold. */
  keep(callId: string, extension: string, events: CallEvent[]): Promise<CallRecord | undefined> {
    const record = foldCallRecord(Object.fromEntries(events.map((e) => [e.type, e])));
    if (record) this.put(record);
    return Promise.resolve(record);
  }
  legs(callId: string, extension: string): Promise<CallRecord[]> {
    const all = [...this.records.values()].filter((r) => r.callId === callId);
    return Promise.resolve([...all.filter((r) => r.extension === extension), ...all.filter((r) => r.extension !== extension)]);
  }
  wrapUp(callId: string, connection: string): Promise<StoredWrapUp | undefined> {
    return Promise.resolve(this.wrapUps.get(`${callId}|${connection}`));
  }
  saveWrapUp(callId: string, connection: string, wrapUp: StoredWrapUp): Promise<void> {
    this.wrapUps.set(`${callId}|${connection}`, wrapUp);
    return Promise.resolve();
  }
  annotate(callId: string, extension: string, field: 'pop' | 'log', value: unknown): Promise<void> {
    this.notes.set(`${callId}|${extension}|${field}`, value);
    return Promise.resolve();
  }
  logNote(callId: string, extension: string) {
    return this.notes.get(`${callId}|${extension}|log`) as (CallLogOutcome & { status: string }) | undefined;
  }
}

/** GET and SET (with EX, NX and GET) on a Map: what the ledger asks of Redis. */
class MemoryRedis implements LedgerRedis {
  readonly data = new Map<string, string>();
  get(key: string): Promise<string | null> {
    return Promise.resolve(this.data.get(key) ?? null);
  }
  set(key: string, value: string, ex: 'EX', seconds: number): Promise<unknown>;
  set(key: string, value: string, ex: 'EX', seconds: number, nx: 'NX', get: 'GET'): Promise<string | null>;
  set(key: string, value: string, _ex: 'EX', _seconds: number, nx?: 'NX'): Promise<string | null> {
    const old = this.data.get(key) ?? null;
    if (!nx || old === null) this.data.set(key, value);
    return Promise.resolve(nx ? old : 'OK');
  }
}

const leg = (extension: string, over: Partial<CallRecord> = {}): CallRecord => ({
  callId: 'call1',
  extension,
  direction: 'inbound',
  caller: { number: CALLER },
  callee: { extension },
  remoteNumber: CALLER,
  startedAt: T0,
  endedAt: T0 + 5000,
  outcome: 'missed',
  events: [],
  extra: {},
  ...over,
});

function harness(opts: { mappings?: Partial<Mappings>; wrapUpWindowSeconds?: number; watched?: boolean } = {}) {
  const crm = new FakeCrm();
  const calls = new FakeCallState();
  const redis = new MemoryRedis();
  const published: CallUpdate[] = [];
  const queuedUpdates: string[] = [];
  const pauses = new Map<string, { until: number; reason: string }>();
  const liveJobs = new Set<string>();
  const mappings: Mappings = { defaults: { connection: CONNECTION, country: 'US' }, organisations: {}, extensions: {}, ...opts.mappings };
  const config: ConnectorConfig = parseConfig(`calls: { wrapUpWindowSeconds: ${opts.wrapUpWindowSeconds ?? 0} }`, 'test.yaml');
  const log = pino({ level: 'silent' });
  const metrics = new MetricsService();

  const mappingService = { resolve: (e: string): ResolvedMapping => resolveMapping(mappings, e), ownerId: () => Promise.resolve('owner-1') };
  const registry = {
    get: (): CrmProvider => crm,
    names: () => [CONNECTION],
    displayName: () => 'The CRM',
    dispositions: (): Disposition[] => [{ key: 'sale', label: 'Sale', value: 'SALE' }],
  };
  const lookups = {
    lookup: async (_c: string, q: PhoneQuery): Promise<LookupResult> => ({ matches: await crm.findContactsByPhone(q), cached: false }),
    invalidate: () => Promise.resolve(true),
  };
  const updates = {
    publish: (u: CallUpdate): Promise<string | undefined> => {
      published.push(u);
      return Promise.resolve(undefined);
    },
    watched: () => Promise.resolve(opts.watched ?? true),
  };
  const pauseService = {
    pausedUntil: (c: string) => Promise.resolve(pauses.get(c)),
    pause: (c: string, until: number, reason: string) => Promise.resolve(void pauses.set(c, { until, reason })),
  };

  const cards = new LoggedCallCards(calls, mappingService, updates, new CardService(registry));
  const outcomes = new LogOutcomes(calls, metrics, cards, log);
  const ledger = new LogLedger(redis, new RedisKeys('test'));
  const callCrm = new CallCrm(registry, lookups, { logCall: (_c, input) => crm.logCall(input) }, metrics, mappingService, log);
  // Events whose screen-pop jobs have not run yet, by `callId|extension`.
  const pending = new Map<string, CallEvent[]>();
  const find = new FindCallToLog(calls, mappingService, outcomes, { of: (c, e) => Promise.resolve(pending.get(`${c}|${e}`) ?? []) });
  const guard = new CrmWriteGuard(pauseService, outcomes, log);
  const followUp = new FollowUpMissedCall(callCrm, ledger, log);
  const update = new UpdateLoggedCall(ledger, callCrm, calls, cards, outcomes, log);
  const finish = new FinishLoggedCall(calls, { addWrapUpUpdate: (c, e) => Promise.resolve(void queuedUpdates.push(`${c}|${e}`)) }, cards, followUp, outcomes);
  const write = new WriteCallActivity(callCrm, ledger, finish, outcomes, log);
  const window = new WrapUpWindow({ current: config }, calls, updates, callCrm, cards);
  const logCall = new LogCall(find, new ClaimCall(ledger, outcomes), new AlreadyLogged(ledger, guard, update, followUp), window, guard, write);
  const updateCall = new UpdateCallWithWrapUp(find, guard, update);

  /** A job for one leg's Hangup; every job made here stays in the queue unless `removed`. */
  const job = (extension: string, over: Partial<LogJob> = {}): LogJob => {
    const id = over.id ?? `log-call-1-${extension}`;
    liveJobs.add(id);
    return { id, callId: 'call1', extension, mayExist: false, attempt: 1, attempts: 3, exists: (other) => Promise.resolve(liveJobs.has(other)), ...over };
  };
  return { crm, calls, redis, published, queuedUpdates, pauses, liveJobs, metrics, logCall, updateCall, ledger, job, pending };
}

const outcomeOf = (step: LogStep) => step as CallLogOutcome;

describe(LogCall.name, () => {
  describe('a ring group', () => {
    it('logs one activity, owned by the member who answered, whichever leg ends last', async () => {
      const h = harness();
      h.calls.put(leg('0003*204', { endedAt: T0 + 4000 }));
      h.calls.put(leg('0003*205', { answeredAt: T0 + 4000, endedAt: T0 + 64_000, outcome: 'answered' }));
      h.calls.put(leg('0003*206', { endedAt: T0 + 4000 }));

      const steps = [];
      for (const e of ['0003*204', '0003*205', '0003*206']) steps.push(outcomeOf(await h.logCall.run(h.job(e))));

      expect(h.crm.activities.size).toBe(1);
      const [activity] = h.crm.activities.values();
      expect(activity.record).toMatchObject({ extension: '0003*205', outcome: 'answered', talkSeconds: 60 });
      expect(activity.match?.id).toBe('c-ann');
      expect(steps.filter((s) => s.status === 'logged')).toHaveLength(1);
      expect(steps.filter((s) => s.status === 'skipped').map((s) => s.reason)).toEqual([
        'logged once for the whole call, by job log-call-1-0003*204',
        'logged once for the whole call, by job log-call-1-0003*204',
      ]);
      // Every member's card shows the one activity.
      const shown = h.published.filter((u) => u.activity).map((u) => u.record.extension);
      expect(shown.sort()).toEqual(['0003*204', '0003*205', '0003*206']);
    });

    it('a leg that ends while another is still on the call stands down; the last one logs it', async () => {
      const h = harness();
      h.calls.put(leg('0003*204', { endedAt: T0 + 4000 }));
      h.calls.put(leg('0003*205', { answeredAt: T0 + 4000, endedAt: undefined, outcome: 'talking' }));

      const first = outcomeOf(await h.logCall.run(h.job('0003*204')));
      expect(first).toMatchObject({ status: 'skipped', reason: 'part of a call still going on at 0003*205: logged once when it ends' });
      expect(h.crm.activities.size).toBe(0);

      h.calls.put(leg('0003*205', { answeredAt: T0 + 4000, endedAt: T0 + 30_000, outcome: 'answered' }));
      expect(outcomeOf(await h.logCall.run(h.job('0003*205')))).toMatchObject({ status: 'logged' });
      expect(h.crm.activities.size).toBe(1);
    });

    it('a job that loses the claim to a queued job skips; a claim whose job was removed passes on', async () => {
      const h = harness();
      h.calls.put(leg('0003*204'));
      h.calls.put(leg('0003*206'));
      await h.ledger.claim(h.job('0003*206', { id: 'other-job' }), {
        record: leg('0003*204'),
        mapping: resolveMapping({ organisations: {}, extensions: {} }, 'x'),
        connection: CONNECTION,
        key: 'vn-call1',
      });

      expect(outcomeOf(await h.logCall.run(h.job('0003*204')))).toEqual({ status: 'skipped', reason: 'logged once for the whole call, by job other-job', connection: CONNECTION });
      expect(h.crm.writes).toBe(0);

      h.liveJobs.delete('other-job');
      expect(outcomeOf(await h.logCall.run(h.job('0003*204')))).toMatchObject({ status: 'logged' });
      expect(h.crm.activities.size).toBe(1);
    });
  });

  it('a leg whose pop jobs have not run yet (the screen-pop queue is behind) is logged from the events they carry, and keeps them', async () => {
    const h = harness();
    const event = (type: EventType, at: number, status?: string): CallEvent => ({
      id: `${type}-call1-0003~2A210`,
      type,
      callId: 'call1',
      flow: 'IN',
      extension: '0003*210',
      callerNumber: CALLER,
      calledExtension: '0003*210',
      status,
      extra: {},
      receivedAt: at,
    });
    h.pending.set('call1|0003*210', [event('dial-in', T0, 'CALLING'), event('answer-in', T0 + 2000), event('hangup', T0 + 32_000, 'ANSWER')]);

    expect(outcomeOf(await h.logCall.run(h.job('0003*210')))).toMatchObject({ status: 'logged' });
    const [activity] = h.crm.activities.values();
    expect(activity.record).toMatchObject({ outcome: 'answered', talkSeconds: 30, remoteNumber: CALLER });
    expect((await h.calls.get('call1', '0003*210'))?.outcome).toBe('answered');
  });

  it('with callLogging: per-extension, each extension rung gets its own activity', async () => {
    const h = harness({ mappings: { defaults: { connection: CONNECTION, actions: { callLogging: 'per-extension' } } } });
    h.calls.put(leg('0003*204', { endedAt: T0 + 4000 }));
    h.calls.put(leg('0003*205', { answeredAt: T0 + 4000, endedAt: T0 + 64_000, outcome: 'answered' }));
    for (const e of ['0003*204', '0003*205']) await h.logCall.run(h.job(e));
    expect([...h.crm.activities.keys()].sort()).toEqual(['vn-call1-0003~2A204', 'vn-call1-0003~2A205']);
  });

  it('an unknown caller under unknownCaller: create-contact becomes a record, and the call is logged against it', async () => {
    const h = harness({ mappings: { defaults: { connection: CONNECTION, actions: { unknownCaller: 'create-contact' } } } });
    h.calls.put(leg('0003*210', { remoteNumber: '+15550000000', caller: { number: '+15550000000', name: 'Sam Poe' } }));
    await h.logCall.run(h.job('0003*210'));
    const [activity] = h.crm.activities.values();
    expect(activity.match).toMatchObject({ recordType: 'Lead', displayName: 'Sam Poe', phone: '+15550000000' });
  });

  it('a call already marked as logged is not written again (a replayed job)', async () => {
    const h = harness();
    h.calls.put(leg('0003*210', { answeredAt: T0 + 3000, endedAt: T0 + 20_000, outcome: 'answered' }));
    const first = outcomeOf(await h.logCall.run(h.job('0003*210')));
    const replay = outcomeOf(await h.logCall.run(h.job('0003*210', { mayExist: true })));

    expect(h.crm.writes).toBe(1);
    expect(replay).toEqual({ status: 'logged', connection: CONNECTION, activity: { id: first.activity!.id, url: first.activity!.url, created: false } });
  });

  it('holds an answered call for the wrap-up window, then logs it with the notes', async () => {
    const h = harness({ wrapUpWindowSeconds: 300 });
    h.calls.put(leg('0003*210', { answeredAt: Date.now() - 10_000, endedAt: Date.now(), outcome: 'answered' }));

    const held = await h.logCall.run(h.job('0003*210'));
    expect(held).toMatchObject({ postpone: 'delay', heldForWrapUp: true, why: 'wrap-up window' });
    expect((held as { ms: number }).ms).toBeGreaterThan(290_000);
    expect(h.crm.activities.size).toBe(0);
    expect(h.published.at(-1)?.offers?.logsAt).toBeGreaterThan(Date.now());

    await h.calls.saveWrapUp('call1', CONNECTION, { notes: 'Wants a quote', disposition: 'sale', done: true, by: '0003*210', savedAt: Date.now(), state: 'saved' });
    expect(outcomeOf(await h.logCall.run(h.job('0003*210')))).toMatchObject({ status: 'logged' });
    const [activity] = h.crm.activities.values();
    expect(activity.description).toContain('Wants a quote');
    expect(activity.disposition).toBe('SALE');
    expect((await h.calls.wrapUp('call1', CONNECTION))?.state).toBe('logged');
  });

  it('a wrap-up saved while the activity was being written is queued as an update of it', async () => {
    const h = harness();
    h.calls.put(leg('0003*210', { answeredAt: T0 + 1000, outcome: 'answered' }));
    h.crm.onWrite = () => void h.calls.saveWrapUp('call1', CONNECTION, { notes: 'late', by: '0003*210', savedAt: 5, state: 'saved' });
    expect(outcomeOf(await h.logCall.run(h.job('0003*210')))).toMatchObject({ status: 'logged' });
    expect(h.queuedUpdates).toEqual(['call1|0003*210']);
    expect(h.crm.activities.get('vn-call1')?.description).not.toContain('late');
  });

  it('logs at once when no page watches the extension (nobody can wrap up)', async () => {
    const h = harness({ wrapUpWindowSeconds: 300, watched: false });
    h.calls.put(leg('0003*210', { answeredAt: Date.now() - 10_000, endedAt: Date.now(), outcome: 'answered' }));
    expect(outcomeOf(await h.logCall.run(h.job('0003*210')))).toMatchObject({ status: 'logged' });
  });

  it('a rate limit delays the job by the CRM’s Retry-After, without failing or spending an attempt', async () => {
    const h = harness();
    h.calls.put(leg('0003*210'));
    h.crm.failNext = new CrmError('rate-limited', 'too many requests', { retryAfterMs: 7000 });

    expect(await h.logCall.run(h.job('0003*210', { attempt: 3, attempts: 3 }))).toEqual({ postpone: 'delay', ms: 7000, why: 'crm rate limit: too many requests' });
    expect(h.calls.logNote('call1', '0003*210')).toBeUndefined();
    expect(outcomeOf(await h.logCall.run(h.job('0003*210')))).toMatchObject({ status: 'logged' });
  });

  it('an exhausted quota pauses the connection and holds the job until the pause ends', async () => {
    const h = harness();
    h.calls.put(leg('0003*210'));
    h.crm.failNext = new CrmError('quota-exhausted', 'daily limit', { retryAfterMs: 60_000 });

    expect(await h.logCall.run(h.job('0003*210'))).toMatchObject({ postpone: 'pause', connection: CONNECTION, why: 'crm quota exhausted' });
    expect(h.pauses.get(CONNECTION)?.reason).toBe('daily limit');
    expect(await h.logCall.run(h.job('0003*210'))).toMatchObject({ postpone: 'pause', why: 'connection crm paused: daily limit' });
    expect(h.crm.writes).toBe(1);
  });

  it('a permanent CRM error fails the job for good and says so on the call and its waiting wrap-up', async () => {
    const h = harness();
    h.calls.put(leg('0003*210'));
    await h.calls.saveWrapUp('call1', CONNECTION, { notes: 'n', by: '0003*210', savedAt: 1, state: 'saved' });
    h.crm.failNext = new CrmError('permanent', 'invalid owner');

    await expect(h.logCall.run(h.job('0003*210'))).rejects.toEqual(new PermanentLogFailure('crm: invalid owner'));
    expect(h.calls.logNote('call1', '0003*210')).toMatchObject({ status: 'failed', reason: 'invalid owner' });
    expect((await h.calls.wrapUp('call1', CONNECTION))?.state).toBe('failed');
    expect(h.crm.activities.size).toBe(0);
  });

  it('a retryable error is thrown for the queue to retry, and noted as failed only on the last attempt', async () => {
    const h = harness();
    h.calls.put(leg('0003*210'));
    h.crm.failNext = new CrmError('retryable', 'HTTP 503');
    await expect(h.logCall.run(h.job('0003*210', { attempt: 1, attempts: 3 }))).rejects.toThrow('HTTP 503');
    expect(h.calls.logNote('call1', '0003*210')).toBeUndefined();

    h.crm.failNext = new CrmError('retryable', 'HTTP 503');
    await expect(h.logCall.run(h.job('0003*210', { attempt: 3, attempts: 3 }))).rejects.toThrow('HTTP 503');
    expect(h.calls.logNote('call1', '0003*210')).toMatchObject({ status: 'failed', reason: 'HTTP 503 (attempt 3 of 3)' });
  });

  it('a missed call under followUpMissed gets one follow-up task for the caller, even when the job runs again', async () => {
    const h = harness({ mappings: { defaults: { connection: CONNECTION, country: 'US', actions: { followUpMissed: true } } } });
    h.calls.put(leg('0003*210'));
    await h.logCall.run(h.job('0003*210'));
    await h.logCall.run(h.job('0003*210', { mayExist: true }));

    expect(h.crm.tasks.size).toBe(1);
    expect(h.crm.taskRequests).toBe(1); // the replay knows the task exists: no second request
    const [task] = h.crm.tasks.values();
    expect(task).toMatchObject({ key: 'vn-call1-follow-up', match: { id: 'c-ann' }, ownerId: 'owner-1', dueAt: T0 + 5000 });
    expect(task.description).toContain('Call activity: a-1');
  });

  it('an answered call gets no follow-up task', async () => {
    const h = harness({ mappings: { defaults: { connection: CONNECTION, actions: { followUpMissed: true } } } });
    h.calls.put(leg('0003*210', { answeredAt: T0 + 1000, outcome: 'answered' }));
    await h.logCall.run(h.job('0003*210'));
    expect(h.crm.tasks.size).toBe(0);
  });

  it('skips an unknown caller under unknownCaller: ignore, and an unmapped extension', async () => {
    const h = harness({ mappings: { defaults: { connection: CONNECTION, actions: { unknownCaller: 'ignore' } }, extensions: { '0003*999': { connection: CONNECTION } } } });
    h.calls.put(leg('0003*210', { remoteNumber: '+15550000000', caller: { number: '+15550000000' } }));
    expect(outcomeOf(await h.logCall.run(h.job('0003*210')))).toMatchObject({ status: 'skipped', reason: 'unknown caller (unknownCaller: ignore)' });

    const unmapped = harness({ mappings: { defaults: undefined } });
    unmapped.calls.put(leg('0003*210'));
    expect(outcomeOf(await unmapped.logCall.run(unmapped.job('0003*210')))).toEqual({ status: 'skipped', reason: 'extension not mapped to a CRM connection' });
    expect(h.crm.writes + unmapped.crm.writes).toBe(0);
  });

  it('a leg that ends after the call was logged (a transfer) updates the activity instead of logging again', async () => {
    const h = harness();
    h.calls.put(leg('0003*204', { answeredAt: T0 + 1000, endedAt: T0 + 10_000, outcome: 'answered' }));
    h.calls.put(leg('0003*205', { startedAt: T0 + 9000, answeredAt: T0 + 9000, endedAt: T0 + 9500, outcome: 'answered' }));
    await h.logCall.run(h.job('0003*204'));
    h.calls.put(leg('0003*205', { startedAt: T0 + 9000, answeredAt: T0 + 9000, endedAt: T0 + 40_000, outcome: 'answered' }));
    h.liveJobs.clear(); // the first job is done and gone

    expect(outcomeOf(await h.logCall.run(h.job('0003*205')))).toMatchObject({ status: 'updated', activity: { id: 'a-1' } });
    expect(h.crm.activities.size).toBe(1);
    expect(h.crm.updates).toHaveLength(1);
  });
});

describe(UpdateCallWithWrapUp.name, () => {
  it('applies a wrap-up saved after the log to the activity, on the record the agent picked', async () => {
    const h = harness();
    h.calls.put(leg('0003*210', { answeredAt: T0 + 1000, outcome: 'answered' }));
    await h.logCall.run(h.job('0003*210'));
    await h.calls.saveWrapUp('call1', CONNECTION, { notes: 'Call back Monday', recordId: 'c-ann', by: '0003*210', savedAt: 2, state: 'saved' });

    expect(outcomeOf(await h.updateCall.run(h.job('0003*210', { id: 'update-1' })))).toMatchObject({ status: 'updated', matchId: 'c-ann' });
    expect(h.crm.updates[0]).toMatchObject({ id: 'a-1', patch: { match: { id: 'c-ann' } } });
    expect(h.crm.updates[0].patch.description).toContain('Call back Monday');
    expect((await h.calls.wrapUp('call1', CONNECTION))?.state).toBe('updated');
  });

  it('does nothing before the call is logged: the log will carry the wrap-up', async () => {
    const h = harness();
    h.calls.put(leg('0003*210'));
    expect(outcomeOf(await h.updateCall.run(h.job('0003*210')))).toMatchObject({ status: 'skipped', reason: 'not logged yet: the log will carry the wrap-up' });
    expect(h.crm.updates).toHaveLength(0);
  });
});

describe(LogLedger.name, () => {
  it('the first job to claim a call holds it; a second job stands down; the holder asks again and keeps it', async () => {
    const h = harness();
    const call = { record: leg('0003*204'), mapping: resolveMapping({ organisations: {}, extensions: {} }, '0003*204'), connection: CONNECTION, key: 'vn-call1' };
    expect(await h.ledger.claim(h.job('0003*204', { id: 'a' }), call)).toBeUndefined();
    expect(await h.ledger.claim(h.job('0003*206', { id: 'b' }), call)).toBe('logged once for the whole call, by job a');
    expect(await h.ledger.claim(h.job('0003*204', { id: 'a' }), call)).toBeUndefined();
  });
});
