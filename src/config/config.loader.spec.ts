import { resolve } from 'node:path';
import { ConfigError, loadConfigFile, parseConfig } from './config.loader';

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
    ['a duplicate extension', 'mappings:\n  extensions:\n    "0003*210": {}\n    "0003*210": {}', /^line \d+, column \d+: .*[Uu]nique/],
    ['a bad organisation pattern', 'mappings:\n  organisations:\n    "0003": {}', /^mappings\.organisations\.0003: .*organisation wildcard/],
    ['a bad extension pattern', 'mappings:\n  extensions:\n    "abc": {}', /^mappings\.extensions\.abc: .*extension like/],
    ['an unknown action', 'mappings:\n  defaults: { actions: { popOnRing: true } }', /^mappings\.defaults\.actions: unknown key "popOnRing"/],
    ['an unknown connection', 'mappings:\n  defaults: { connection: nope }', /^mappings\.defaults\.connection: unknown connection "nope" \(no connections are defined/],
    ['an unknown CRM type', 'connections:\n  x: { type: zoho }', /^connections\.x.*type must be one of: file/],
    ['a bad country', 'mappings:\n  defaults: { country: USA }', /^mappings\.defaults\.country: must be a two-letter ISO country code/],
  ])('names the key path and the problem for %s', (_what, yaml, expected) => {
    const problems = problemsOf(yaml);
    expect(problems.some((p) => expected.test(p))).toBe(true);
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
