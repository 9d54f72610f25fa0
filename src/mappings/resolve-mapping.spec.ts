import { DEFAULT_ACTIONS, Mappings } from './mapping.schema';
import { resolveMapping } from './resolve-mapping';

const mappings: Mappings = {
  defaults: { connection: 'demo', country: 'US' },
  organisations: {
    '0003*': { connection: 'sf-eu', country: 'BE', owner: { id: '005A' }, actions: { logMissed: false } },
  },
  extensions: {
    '0003*210': { owner: { email: 'ann@example.com' } },
    '0003*299': { actions: { popOnDialIn: false } },
    '0007*100': { connection: 'hubspot' },
    '42': { connection: 'sf-eu' },
  },
};

describe(resolveMapping.name, () => {
  it.each<[string, Partial<ReturnType<typeof resolveMapping>>]>([
    ['0003*210', { matched: 'extension', connection: 'sf-eu', country: 'BE', owner: { email: 'ann@example.com' } }],
    ['0003*211', { matched: 'organisation', connection: 'sf-eu', country: 'BE', owner: { id: '005A' } }],
    ['0007*100', { matched: 'extension', connection: 'hubspot', country: 'US' }],
    ['0009*001', { matched: 'defaults', connection: 'demo', country: 'US' }],
    ['42', { matched: 'extension', connection: 'sf-eu', country: 'US' }],
  ])('%s', (extension, expected) => {
    expect(resolveMapping(mappings, extension)).toMatchObject(expected);
  });

  it('an extension rule without an owner keeps none when no level above sets one', () => {
    expect(resolveMapping(mappings, '0007*100').owner).toBeUndefined();
  });

  it('merges actions key by key down the levels', () => {
    const r = resolveMapping(mappings, '0003*299');
    expect(r.actions).toEqual({ ...DEFAULT_ACTIONS, logMissed: false, popOnDialIn: false });
    expect(r.rules).toEqual(['defaults', 'organisations.0003*', 'extensions.0003*299']);
  });

  it('with no defaults an unknown extension is unmapped', () => {
    const r = resolveMapping({ organisations: {}, extensions: {} }, '0003*210');
    expect(r.matched).toBe('none');
    expect(r.connection).toBeUndefined();
  });
});
