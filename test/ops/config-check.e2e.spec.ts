import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runConfigCheck } from '../../src/cli/config-check';
import { startApp } from '../../src/bootstrap';
import { ConfigError } from '../../src/config/config.loader';

const VALID = `connections:
  demo: { type: file, contactsCsv: contacts.csv, callLogFile: calls.jsonl }
  support: { type: hubspot, auth: { flow: private-app, tokenEnv: HS_TOKEN_FOR_CHECK } }
mappings:
  defaults: { connection: demo }
  organisations:
    "0007*": { connection: support }
`;
const INVALID = `connections:
  demo: { type: file, contactsCsv: contacts.csv, callLogFile: calls.jsonl }
mappings:
  defaults: { connection: sales }
  organisations:
    "0003": {}
`;

/** The compiled CLI, as `npm run config:check` runs it (npm test builds dist/ first). */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = fork(resolve(__dirname, '../../dist/cli/config-check.js'), args, { env: { PATH: process.env.PATH, ...env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += String(d)));
    child.stderr!.on('data', (d: Buffer) => (stderr += String(d)));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

describe('npm run config:check', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vncc-check-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a valid file: exit 0 and a summary of what it defines', () => {
    const result = runConfigCheck([file('ok.yaml', VALID)], { HS_TOKEN_FOR_CHECK: 'pat-1' });
    expect(result).toEqual({
      code: 0,
      out: `${join(dir, 'ok.yaml')}: valid. 2 connection(s) (demo: file, support: hubspot); defaults set; 1 organisation rule(s); 0 extension rule(s).`,
    });
  });

  it('an invalid file: exit 1 and every problem with its key path and line', () => {
    const result = runConfigCheck([file('bad.yaml', INVALID)], {});
    expect(result.code).toBe(1);
    expect(result.out.split('\n')).toEqual([
      expect.stringMatching(/^Invalid configuration in .*bad\.yaml:$/),
      '  mappings.organisations.0003: key must be an organisation wildcard like "0003*" (line 6)',
      '  mappings.defaults.connection: unknown connection "sales" (known connections: demo) (line 4)',
      expect.stringMatching(/^Fix the file and start again \(or run: npm run config:check -- .*bad\.yaml\)\.$/),
    ]);
  });

  it('a secret missing from this shell fails the check unless --skip-secrets', () => {
    const path = file('ok.yaml', VALID);
    expect(runConfigCheck([path], {})).toEqual({
      code: 1,
      out: expect.stringContaining('connections.support: environment variable HS_TOKEN_FOR_CHECK (or HS_TOKEN_FOR_CHECK_FILE) is not set (line 3)'),
    });
    const secretFile = file('hs-token', 'pat-from-file\n');
    expect(runConfigCheck([path], { HS_TOKEN_FOR_CHECK_FILE: secretFile }).code).toBe(0);
    expect(runConfigCheck([path, '--skip-secrets'], {})).toMatchObject({ code: 0, out: expect.stringContaining('Secrets not checked') });
  });

  it('a missing file, CONFIG_FILE as the default, and a wrong command line', () => {
    expect(runConfigCheck([join(dir, 'nope.yaml')], {})).toMatchObject({ code: 1, out: expect.stringContaining('cannot read the file (ENOENT)') });
    expect(runConfigCheck([], { CONFIG_FILE: file('ok.yaml', VALID), HS_TOKEN_FOR_CHECK: 'x' }).code).toBe(0);
    expect(runConfigCheck(['--frobnicate'], {})).toMatchObject({ code: 2, out: expect.stringContaining('Unknown option --frobnicate') });
    expect(runConfigCheck(['a.yaml', 'b.yaml'], {}).code).toBe(2);
  });

  it('as a process: exit codes and streams', async () => {
    const ok = await cli([file('ok.yaml', VALID)], { HS_TOKEN_FOR_CHECK: 'pat-1' });
    expect(ok).toMatchObject({ code: 0, stderr: '', stdout: expect.stringContaining(': valid.') });
    const bad = await cli([file('bad.yaml', INVALID)]);
    expect(bad).toMatchObject({ code: 1, stdout: '', stderr: expect.stringContaining('unknown connection "sales"') });
    expect((await cli(['--frobnicate'])).code).toBe(2);
  });

  it('the service refuses to start on an invalid file, with the same message', async () => {
    const started = startApp({ env: { CONFIG_FILE: file('bad.yaml', INVALID), PORT: '0', HOST: '127.0.0.1', INGEST_TOKEN: 't', ADMIN_TOKEN: 'a' } });
    await expect(started).rejects.toBeInstanceOf(ConfigError);
    await expect(started).rejects.toThrow(runConfigCheck([join(dir, 'bad.yaml')], {}).out);
  });
});
