import { CallRecord } from '../calls/call-record';
import { DEFAULT_ACTIONS } from './mapping.schema';
import { ResolvedMapping } from './resolve-mapping';
import { shouldLog, shouldLookUp, shouldPop } from './decide';

type MappingOverrides = Omit<Partial<ResolvedMapping>, 'actions'> & { actions?: Partial<ResolvedMapping['actions']> };
const mapping = (over: MappingOverrides = {}): ResolvedMapping => ({
  extension: '0003*210',
  matched: 'defaults',
  rules: ['defaults'],
  connection: 'demo',
  ...over,
  actions: { ...DEFAULT_ACTIONS, ...over.actions },
});
const record = (over: Partial<CallRecord> = {}): CallRecord => ({
  callId: 'c',
  extension: '0003*210',
  direction: 'inbound',
  caller: { number: '0015551234567' },
  callee: { extension: '0003*210' },
  remoteNumber: '0015551234567',
  startedAt: 0,
  outcome: 'answered',
  events: [],
  extra: {},
  ...over,
});

describe('logging decisions', () => {
  it.each<[string, Partial<CallRecord>, MappingOverrides, boolean | string]>([
    ['answered inbound', {}, {}, true],
    ['missed inbound', { outcome: 'missed' }, {}, true],
    ['missed inbound with logMissed off', { outcome: 'busy' }, { actions: { logMissed: false } }, 'logMissed is off'],
    ['answered with logAnswered off', {}, { actions: { logAnswered: false } }, 'logAnswered is off'],
    ['outbound with logOutbound off', { direction: 'outbound', remoteNumber: '003258422544' }, { actions: { logOutbound: false } }, 'logOutbound is off'],
    ['internal call', { remoteNumber: '0003*211', caller: { number: '0003*211', extension: '0003*211' } }, {}, 'internal call'],
    ['internal call when skipInternal is off', { remoteNumber: '0003*211' }, { actions: { skipInternal: false } }, true],
    ['unmapped extension', {}, { connection: undefined, matched: 'none' }, 'extension not mapped to a CRM connection'],
    ['a call still ringing', { outcome: 'ringing' }, {}, 'call has not ended'],
  ])('%s', (_what, r, m, expected) => {
    const d = shouldLog(record(r), mapping(m));
    expect(d.yes ? true : d.reason).toBe(expected);
  });
});

describe('pop decisions', () => {
  it('pops inbound and outbound calls unless the mapping turns it off', () => {
    expect(shouldPop(record(), mapping()).yes).toBe(true);
    expect(shouldPop(record(), mapping({ actions: { popOnDialIn: false } })).yes).toBe(false);
    expect(shouldPop(record({ direction: 'outbound' }), mapping({ actions: { popOnDialOut: false } })).yes).toBe(false);
  });

  it('does not look up anonymous callers, colleagues, or calls on unmapped extensions', () => {
    expect(shouldLookUp(record({ remoteNumber: undefined }), mapping())).toEqual({ yes: false, reason: 'no caller number (anonymous)' });
    expect(shouldLookUp(record({ remoteNumber: '210' }), mapping())).toEqual({ yes: false, reason: 'internal call' });
    expect(shouldLookUp(record(), mapping({ connection: undefined }))).toMatchObject({ yes: false });
    expect(shouldLookUp(record(), mapping()).yes).toBe(true);
  });
});

describe('what a yes carries', () => {
  it('a lookup decision names the connection and the parsed number', () => {
    const d = shouldLookUp(record(), mapping({ connection: 'sf-eu' }));
    expect(d).toMatchObject({ yes: true, connection: 'sf-eu', query: { e164: '+15551234567' } });
  });

  it('a number that cannot be parsed is not looked up', () => {
    expect(shouldLookUp(record({ remoteNumber: 'abc' }), mapping())).toEqual({ yes: false, reason: 'not a phone number' });
  });

  it('reuses a query already parsed for the same number, and only for it', () => {
    const parsed = { number: '0015551234567', query: { raw: 'x', digits: '1', forms: ['1'] } };
    expect(shouldLookUp(record(), mapping(), parsed)).toMatchObject({ yes: true, query: parsed.query });
    expect(shouldLookUp(record(), mapping(), { ...parsed, number: '0015550000000' })).toMatchObject({ yes: true, query: { e164: '+15551234567' } });
  });

  it('a log decision names the connection', () => {
    expect(shouldLog(record(), mapping({ connection: 'hs' }))).toEqual({ yes: true, connection: 'hs' });
  });
});
