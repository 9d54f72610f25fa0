import { fork } from 'node:child_process';
import { resolve } from 'node:path';
import { FakeHubSpot, startFakeHubSpot } from '../fakes/fake-hubspot';

const KEY = 'dev-api-key-0123456789';

/** The compiled CLI, as `npm run hubspot-calling-settings` runs it (npm test builds dist/ first). */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = fork(resolve(__dirname, '../../dist/cli/hubspot-calling-settings.js'), args, { env: { PATH: process.env.PATH, ...env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += String(d)));
    child.stderr!.on('data', (d: Buffer) => (stderr += String(d)));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

/** The HubSpot app's calling settings, registered by command against a fake HubSpot that checks them as HubSpot does. */
describe('npm run hubspot-calling-settings', () => {
  let hs: FakeHubSpot;
  const base = () => ['--base-path', hs.url];

  beforeAll(async () => {
    hs = await startFakeHubSpot({ developer: { apiKey: KEY, appIds: ['1234567'] } });
  });
  afterAll(() => hs.close());

  it('creates the settings the panel needs, then updates only what changed, and shows them', async () => {
    const created = await cli(['--app-id', '1234567', '--url', 'https://connector.example.com/embed/hubspot', '--not-ready', ...base()], { HUBSPOT_DEVELOPER_API_KEY: KEY });
    expect(created).toMatchObject({ code: 0 });
    expect(created.stdout).toContain('Calling settings created for app 1234567');
    expect(hs.callingSettings.get('1234567')).toMatchObject({
      name: 'VoipNow',
      url: 'https://connector.example.com/embed/hubspot',
      width: 360,
      height: 560,
      isReady: false,
      supportsInboundCalling: true,
      supportsCustomObjects: false,
      usesCallingWindow: false,
      usesRemote: true,
    });

    const ready = await cli(['--app-id', '1234567', '--url', 'https://connector.example.com/embed/hubspot', '--name', 'Acme phones', ...base()], { HUBSPOT_DEVELOPER_API_KEY: KEY });
    expect(ready).toMatchObject({ code: 0 });
    expect(ready.stdout).toContain('Calling settings updated');
    const patch = hs.requests.filter((r) => r.method === 'PATCH').at(-1)!;
    expect(patch.body).toEqual({ name: 'Acme phones', isReady: true });
    expect(hs.callingSettings.get('1234567')).toMatchObject({ name: 'Acme phones', isReady: true, supportsInboundCalling: true });

    const again = await cli(['--app-id', '1234567', '--url', 'https://connector.example.com/embed/hubspot', '--name', 'Acme phones', ...base()], { HUBSPOT_DEVELOPER_API_KEY: KEY });
    expect(again.stdout).toContain('Calling settings unchanged');
    const shown = await cli(['--app-id', '1234567', '--show', ...base()], { HUBSPOT_DEVELOPER_API_KEY: KEY });
    expect(JSON.parse(shown.stdout)).toMatchObject({ name: 'Acme phones', url: 'https://connector.example.com/embed/hubspot' });
    // The key travels only as HubSpot's hapikey parameter and is never printed.
    for (const out of [created, ready, again, shown]) expect(out.stdout + out.stderr).not.toContain(KEY);
  });

  it('refuses with a reason: no key, a wrong key, a URL that is not the panel, an app of another account', async () => {
    const none = await cli(['--app-id', '1234567', '--url', 'https://connector.example.com/embed/hubspot', ...base()]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('HUBSPOT_DEVELOPER_API_KEY');
    const wrong = await cli(['--app-id', '1234567', '--show', ...base()], { HUBSPOT_DEVELOPER_API_KEY: 'nope' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/refused to read the calling settings \(401\).*developer API key/);
    const plain = await cli(['--app-id', '1234567', '--url', 'http://connector.example.com/embed/hubspot', ...base()], { HUBSPOT_DEVELOPER_API_KEY: KEY });
    expect(plain.stderr).toContain('must be https');
    const page = await cli(['--app-id', '1234567', '--url', 'https://connector.example.com/agent', ...base()], { HUBSPOT_DEVELOPER_API_KEY: KEY });
    expect(page.stderr).toContain('/embed/hubspot');
    const foreign = await cli(['--app-id', '999', '--url', 'https://connector.example.com/embed/hubspot', ...base()], { HUBSPOT_DEVELOPER_API_KEY: KEY });
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain('(404)');
    const usage = await cli(['--url', 'https://connector.example.com/embed/hubspot']);
    expect(usage.code).toBe(2);
  });

  it('deletes the settings', async () => {
    const gone = await cli(['--app-id', '1234567', '--delete', ...base()], { HUBSPOT_DEVELOPER_API_KEY: KEY });
    expect(gone).toMatchObject({ code: 0 });
    expect(hs.callingSettings.has('1234567')).toBe(false);
  });
});
