import { resolve } from 'node:path';
import { CRM_PROVIDERS } from '../crm/providers';
import { checkCapabilities, ConfigError, loadConfigFile, parseConfig } from './config.loader';

const problemsOf = (yaml: string, secret?: (n: string) => string | undefined) => {
  try {
    parseConfig(yaml, 'my.yaml', secret);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
};

describe(parseConfig.name, () => {
  it('the shipped example configuration is valid', () => {
    const config = loadConfigFile(resolve(__dirname, '../../config/connector.yaml'), () => undefined);
    expect(Object.keys(config.connections)).toEqual(['demo']);
    expect(config.mappings.defaults?.connection).toBe('demo');
  });

  it.each<[string, string, RegExp]>([
    ['an unknown top-level key', 'ingestt: {}', /^: unknown key "ingestt"/],
    ['a wrong type', 'calls: { recordTtlHours: "a day" }', /^calls\.recordTtlHours: .*number/],
    ['YAML syntax', 'calls: [1, 2', /^line 1, column \d+: /],
    ['a duplicate extension', 'mappings:\n  extensions:\n    "0003*210": {}\n    "0003*210": {}', /^line 4, column 5: this key is written twice/],
    ['a bad organisation pattern', 'mappings:\n  organisations:\n    "0003": {}', /^mappings\.organisations\.0003: .*organisation wildcard/],
    ['a bad extension pattern', 'mappings:\n  extensions:\n    "abc": {}', /^mappings\.extensions\.abc: .*extension like/],
    ['an unknown action', 'mappings:\n  defaults: { actions: { popOnRing: true } }', /^mappings\.defaults\.actions: unknown key "popOnRing"/],
    ['an unknown connection', 'mappings:\n  defaults: { connection: nope }', /^mappings\.defaults\.connection: unknown connection "nope" \(no connections are defined/],
    ['an unknown CRM type', 'connections:\n  x: { type: zoho }', /^connections\.x.*type must be one of: file/],
    ['a bad country', 'mappings:\n  defaults: { country: USA }', /^mappings\.defaults\.country: must be a two-letter ISO country code/],
    ['an unknown action value', 'mappings:\n  defaults: { actions: { unknownCaller: shout } }', /^mappings\.defaults\.actions\.unknownCaller: .*"ignore"/],
    ['an action that is not on/off', 'mappings:\n  defaults: { actions: { logMissed: sometimes } }', /^mappings\.defaults\.actions\.logMissed: .*boolean/],
    ['an owner with neither id nor e-mail', 'mappings:\n  defaults: { owner: { name: Ann } }', /^mappings\.defaults\.owner: owner must be \{id: <CRM user id>\} or \{email: /],
    ['an owner e-mail that is not one', 'mappings:\n  defaults: { owner: { email: ann } }', /^mappings\.defaults\.owner(\.email)?: .*(email|owner must be)/i],
    ['a secret written inline instead of named', 'connections:\n  hs: { type: hubspot, auth: { flow: private-app, token: pat-123 } }', /^connections\.hs\.auth.*(unknown key "token"|tokenEnv)/],
    ['the same extension as a number and as a string', 'mappings:\n  extensions:\n    210: {}\n    "210": {}', /^mappings\.extensions\."210": duplicate extension "210" \(also at line 3\)/],
    ['an unquoted key with a leading zero', 'mappings:\n  extensions:\n    0210: {}', /^mappings\.extensions\.0210: YAML reads the unquoted key 0210 as the number 210; quote it/],
  ])('names the key path and the problem for %s', (_what, yaml, expected) => {
    const problems = problemsOf(yaml);
    expect(problems.some((p) => expected.test(p))).toBe(true);
  });

  it('a connection whose secret is not in the environment names the variable', () => {
    const yaml = 'connections:\n  support: { type: hubspot, auth: { flow: private-app, tokenEnv: HUBSPOT_TOKEN } }\n';
    expect(problemsOf(yaml, () => undefined)).toEqual(['connections.support: environment variable HUBSPOT_TOKEN (or HUBSPOT_TOKEN_FILE) is not set']);
    expect(problemsOf(yaml, (n) => (n === 'HUBSPOT_TOKEN' ? 'pat-1' : undefined))).toEqual([]);
  });

  it('refuses unknownCaller: create-contact where the rule ends up on a CRM type that cannot create contacts', () => {
    // Every shipped CRM can create contacts; a new provider may not, so the check runs against one that cannot.
    const withoutHubSpot = CRM_PROVIDERS.map((p) => (p.type === 'hubspot' ? { ...p, capabilities: {} } : p));
    const yaml = (type: string) =>
      `connections:\n  demo: { type: file, contactsCsv: c.csv, callLogFile: l.jsonl }\n  other: ${type === 'file' ? '{ type: file, contactsCsv: c.csv, callLogFile: l.jsonl }' : `{ type: ${type}, auth: { flow: private-app, tokenEnv: T } }`}\n` +
      'mappings:\n  defaults: { connection: demo, actions: { unknownCaller: create-contact } }\n  organisations:\n    "0007*": { connection: other }\n';
    expect(checkCapabilities(parseConfig(yaml('file'), 'my.yaml'), withoutHubSpot)).toEqual([]);
    // Refused at the rule whose settings meet the connection that cannot.
    expect(
      checkCapabilities(
        parseConfig(yaml('hubspot'), 'my.yaml', () => 'pat'),
        withoutHubSpot,
      ).map((p) => `${p.path}: ${p.message}`),
    ).toEqual(['mappings.organisations.0007*: unknownCaller: create-contact, but connection "other" (hubspot) cannot create contacts; use log-without-contact or ignore']);
    expect(problemsOf(yaml('hubspot'), () => 'pat')).toEqual([]);
  });

  it('says on which line the offending key is', () => {
    const yaml =
      'connections:\n  demo: { type: file, contactsCsv: c.csv, callLogFile: l.jsonl }\nmappings:\n  defaults:\n    connection: demo\n  extensions:\n    "0003*210":\n      connection: sales\n      actions: { popOnRing: true }\n';
    try {
      parseConfig(yaml, 'my.yaml');
      throw new Error('accepted');
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        { path: 'mappings.extensions.0003*210.actions', line: 9, message: 'unknown key "popOnRing"' },
        { path: 'mappings.extensions.0003*210.connection', line: 8, message: 'unknown connection "sales" (known connections: demo)' },
      ]);
      expect((err as ConfigError).message).toContain('  mappings.extensions.0003*210.connection: unknown connection "sales" (known connections: demo) (line 8)\n');
    }
  });

  it('lists every problem at once: schema and cross-references together', () => {
    const problems = problemsOf('mappings:\n  defaults: { connection: x }\n  organisations:\n    "0003": {}');
    expect(problems).toEqual([expect.stringMatching(/^mappings\.organisations\.0003: /), expect.stringMatching(/^mappings\.defaults\.connection: unknown connection "x"/)]);
  });

  it('the error message names the file and tells what to do', () => {
    expect(() => parseConfig('calls: { recordTtlHours: 0 }', 'config/prod.yaml')).toThrow(/Invalid configuration in config\/prod\.yaml:\n {2}calls\.recordTtlHours: .*\nFix the file/);
  });

  it('a missing file says which and how to point at another', () => {
    expect(() => loadConfigFile('/nonexistent/connector.yaml')).toThrow(/cannot read the file \(ENOENT\); set CONFIG_FILE/);
  });
});
