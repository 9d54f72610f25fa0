import pino from 'pino';
import { parseConfig } from '../../config/config.loader';
import { CrmHealth, CrmMatch, CrmProvider, LoggedActivity, PhoneQuery } from '../../crm/crm-provider';
import { CachePeek, LookupResult } from '../../crm/lookup.service';
import { CallEvent, EventType } from '../../ingest/call-event';
import { Mappings } from '../../mappings/mapping.schema';
import { resolveMapping, ResolvedMapping } from '../../mappings/resolve-mapping';
import { MetricsService } from '../../metrics/metrics.service';
import { CallRecord, foldCallRecord } from '../call-record';
import { CallNotes, CallUpdate } from '../call-update.publisher';
import { CardService } from '../card.service';
import { LookUpCaller } from './look-up-caller.usecase';
import { PopCard } from './pop-card.usecase';
import { PublishCard } from './publish-card.usecase';
import { ResolvePop } from './resolve-pop.usecase';
import { TellRingingLegs } from './tell-ringing-legs.usecase';

const CONNECTION = 'crm';
const CALLER = '+15551234567';

/** A CRM whose searches answer when the test says so (`hold`) or at once. */
class FakeCrm implements CrmProvider {
  readonly type = 'fake';
  readonly connection = CONNECTION;
  readonly contacts: CrmMatch[] = [{ connection: CONNECTION, recordType: 'Contact', id: 'c-ann', displayName: 'Ann Lee', phone: CALLER }];
  searches = 0;
  private held?: Promise<void>;
  private release?: () => void;

  hold() {
    this.held = new Promise((r) => (this.release = r));
  }
  answer() {
    this.release?.();
  }
  async findContactsByPhone(query: PhoneQuery): Promise<CrmMatch[]> {
    this.searches++;
    await this.held;
    return this.contacts.filter((c) => c.phone === query.e164);
  }
  logCall(): Promise<LoggedActivity> {
    return Promise.reject(new Error('a screen pop never logs'));
  }
  newContactUrl(number: string) {
    return `https://crm.test/new?phone=${number}`;
  }
  health(): Promise<CrmHealth> {
    return Promise.resolve({ ok: true });
  }
}

/** Call state: events by (CallID, extension), the first answerer, and what the pops noted. */
class FakeCallState {
  readonly events = new Map<string, Partial<Record<EventType, CallEvent>>>();
  readonly remembered: string[] = [];
  readonly notes = new Map<string, unknown>();
  firstAnswer?: string;
  readonly recordTtlMs = 3600_000;

  get(callId: string, extension: string): Promise<CallRecord | undefined> {
    return Promise.resolve(foldCallRecord({ ...this.events.get(`${callId}|${extension}`) }));
  }
  keepEvent(event: CallEvent): Promise<CallRecord> {
    const key = `${event.callId}|${event.extension}`;
    const events = { ...this.events.get(key) };
    events[event.type] ??= event;
    this.events.set(key, events);
    return Promise.resolve(foldCallRecord(events)!);
  }
  async legs(callId: string, extension: string): Promise<CallRecord[]> {
    const extensions = [...this.events.keys()].filter((k) => k.startsWith(`${callId}|`)).map((k) => k.split('|')[1]);
    const records = await Promise.all([extension, ...extensions.filter((e) => e !== extension)].map((e) => this.get(callId, e)));
    return records.filter((r): r is CallRecord => !!r);
  }
  answered(_callId: string, extension: string): Promise<string> {
    this.firstAnswer ??= extension;
    return Promise.resolve(this.firstAnswer);
  }
  answeredBy(): Promise<string | undefined> {
    return Promise.resolve(this.firstAnswer);
  }
  remember(callId: string, extension: string): Promise<void> {
    this.remembered.push(`${callId}|${extension}`);
    return Promise.resolve();
  }
  annotate(callId: string, extension: string, field: 'pop' | 'log', value: unknown): Promise<void> {
    this.notes.set(`${callId}|${extension}|${field}`, value);
    return Promise.resolve();
  }
  key(callId: string, extension: string) {
    return `call:${callId}:${extension}`;
  }
  recentKey() {
    return 'recent-calls';
  }
  legsKey(callId: string) {
    return `legs:${callId}`;
  }
}

let receivedAt = Date.now();
const event = (type: EventType, extension: string, over: Partial<CallEvent> = {}): CallEvent => ({
  id: `${type}-c1-${extension}`,
  type,
  callId: 'c1',
  flow: 'IN',
  extension,
  callerNumber: CALLER,
  calledExtension: extension,
  status: type === 'hangup' ? 'NOANSWER' : type === 'dial-in' ? 'CALLING' : undefined,
  extra: {},
  receivedAt: ++receivedAt,
  ...over,
});

function harness(opts: { budgetMs?: number; mappings?: Partial<Mappings> } = {}) {
  const crm = new FakeCrm();
  const calls = new FakeCallState();
  const published: { update: CallUpdate; notes?: CallNotes }[] = [];
  const mappings: Mappings = {
    defaults: { connection: CONNECTION, country: 'US' },
    organisations: {},
    extensions: { '0003*205': { label: 'Bob' } },
    ...opts.mappings,
  };
  const mappingService = { resolve: (e: string): ResolvedMapping => resolveMapping(mappings, e) };
  const registry = { get: (): CrmProvider => crm, names: () => [CONNECTION], displayName: () => 'The CRM', dispositions: () => [] };
  const lookups = {
    peek: (_c: string, q: PhoneQuery): CachePeek => ({ key: q.e164 ?? q.digits, seq: 1 }),
    lookup: async (_c: string, q: PhoneQuery): Promise<LookupResult> => ({ matches: await crm.findContactsByPhone(q), cached: false }),
  };
  const updates = {
    publish: (update: CallUpdate, notes?: CallNotes): Promise<string | undefined> => {
      published.push({ update, notes });
      return Promise.resolve(undefined);
    },
  };
  const store = { current: parseConfig(`screenPop: { lookupBudgetMs: ${opts.budgetMs ?? 1000} }`, 'test.yaml') };
  const log = pino({ level: 'silent' });
  const cards = new CardService(registry);
  const popCard = new PopCard(
    new ResolvePop(mappingService, lookups, calls),
    new TellRingingLegs(calls, mappingService, updates, cards, log),
    new PublishCard(updates, calls, cards, new MetricsService()),
    new LookUpCaller(lookups, registry, store, log),
  );
  const cardsOf = (extension: string) => published.filter((p) => p.update.record.extension === extension).map((p) => p.update);
  return { crm, calls, published, popCard, cardsOf };
}

describe(PopCard.name, () => {
  it('a Dial-In shows the caller’s record when the CRM answers within the budget', async () => {
    const h = harness();
    expect(await h.popCard.pop(event('dial-in', '0003*204'))).toEqual({ lookup: 'done', matches: 1 });
    const [card] = h.cardsOf('0003*204');
    expect(card.lookup).toMatchObject({ status: 'done', connection: CONNECTION, matches: [{ id: 'c-ann' }] });
    expect(card.labels).toEqual({ connection: 'The CRM' });
    expect(h.calls.notes.size).toBe(0); // the pop's notes ride with the publish
    expect(h.published[0].notes?.pop).toMatchObject({ status: 'popped', lookup: 'done', matchIds: ['c-ann'] });
  });

  it('past the budget the card says "looking up", then fills in when the CRM answers', async () => {
    const h = harness({ budgetMs: 20 });
    h.crm.hold();
    const pop = h.popCard.pop(event('dial-in', '0003*204'));
    await new Promise((r) => setTimeout(r, 60));
    expect(h.cardsOf('0003*204').map((c) => c.lookup?.status)).toEqual(['pending']);

    h.crm.answer();
    expect(await pop).toEqual({ lookup: 'done', matches: 1, late: true });
    const cards = h.cardsOf('0003*204');
    expect(cards.map((c) => c.lookup?.status)).toEqual(['pending', 'done']);
    expect(cards[1].lookup?.matches.map((m) => m.id)).toEqual(['c-ann']);
  });

  it('an unknown caller’s card offers the CRM’s new-record page', async () => {
    const h = harness();
    await h.popCard.pop(event('dial-in', '0003*204', { callerNumber: '+15550000000' }));
    expect(h.cardsOf('0003*204')[0].lookup).toMatchObject({ status: 'done', matches: [], newContactUrl: 'https://crm.test/new?phone=+15550000000' });
  });

  it('an anonymous caller is shown without a lookup', async () => {
    const h = harness();
    expect(await h.popCard.pop(event('dial-in', '0003*204', { callerNumber: undefined }))).toEqual({ lookup: 'skipped' });
    expect(h.cardsOf('0003*204')[0].lookup).toEqual({ status: 'skipped', reason: 'no caller number (anonymous)', matches: [] });
    expect(h.crm.searches).toBe(0);
  });

  it('an extension whose pops are off gets no card, and the skip is noted on the call', async () => {
    const h = harness({ mappings: { defaults: { connection: CONNECTION, actions: { popOnDialIn: false } } } });
    expect(await h.popCard.pop(event('dial-in', '0003*204'))).toEqual({ skipped: 'popOnDialIn is off for this extension' });
    expect(h.published).toHaveLength(0);
    expect(h.calls.notes.get('c1|0003*204|pop')).toMatchObject({ status: 'skipped', reason: 'popOnDialIn is off for this extension' });
    expect(h.calls.remembered).toEqual(['c1|0003*204']);
  });

  describe('a ring group', () => {
    it('the first member to answer tells the cards of the members still ringing who took the call', async () => {
      const h = harness();
      for (const ext of ['0003*204', '0003*205', '0003*206']) await h.popCard.pop(event('dial-in', ext));
      await h.popCard.pop(event('hangup', '0003*206')); // stopped ringing before anyone answered
      h.published.length = 0;

      await h.popCard.pop(event('answer-in', '0003*205'));

      const told = h.cardsOf('0003*204');
      expect(told).toHaveLength(1);
      expect(told[0]).toMatchObject({ event: 'answer-in', group: { answeredBy: { extension: '0003*205', label: 'Bob' } } });
      expect(h.cardsOf('0003*206')).toHaveLength(0); // no longer ringing
      expect(h.cardsOf('0003*205').every((c) => c.group === undefined)).toBe(true); // the answerer's own card
    });

    it('a member whose ringing stops because another answered says who did, not "missed"', async () => {
      const h = harness();
      for (const ext of ['0003*204', '0003*205']) await h.popCard.pop(event('dial-in', ext));
      await h.popCard.pop(event('answer-in', '0003*205'));
      h.published.length = 0;

      await h.popCard.pop(event('hangup', '0003*204'));
      expect(h.cardsOf('0003*204')[0].group).toEqual({ answeredBy: { extension: '0003*205', label: 'Bob' } });
    });

    it('a second member answering later does not retell the others', async () => {
      const h = harness();
      for (const ext of ['0003*204', '0003*205']) await h.popCard.pop(event('dial-in', ext));
      await h.popCard.pop(event('answer-in', '0003*205'));
      h.published.length = 0;

      await h.popCard.pop(event('answer-in', '0003*204'));
      expect(h.cardsOf('0003*205')).toHaveLength(0);
      expect(h.cardsOf('0003*204')[0].group?.answeredBy.extension).toBe('0003*205');
    });
  });
});
