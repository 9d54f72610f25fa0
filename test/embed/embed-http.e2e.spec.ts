import { startTestApp, TEST_ADMIN_TOKEN, TestApp } from '../support/test-app';

/** The panels and their binding endpoints over HTTP: who may frame them, and clear refusals. */
describe('Embedded panels over HTTP', () => {
  let t: TestApp;
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${t.url}/admin/embed/bindings${path}`, { ...init, headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
  const json = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('frames: HubSpot by its own app origins by default, Salesforce by nobody until its origins are set (and the page says so)', async () => {
    const hub = await fetch(`${t.url}/embed/hubspot`);
    expect(hub.status).toBe(200);
    const hubCsp = hub.headers.get('content-security-policy')!;
    expect(hubCsp).toContain('frame-ancestors https://app.hubspot.com https://app-eu1.hubspot.com');
    expect(hubCsp).toContain("script-src 'self';");
    expect(hub.headers.get('x-frame-options')).toBeNull();
    const sf = await fetch(`${t.url}/embed/salesforce`);
    expect(sf.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await sf.text()).toContain('Ask your administrator to set EMBED_SALESFORCE_ORIGINS');
    const asset = await fetch(`${t.url}/embed/assets/calling-extensions-sdk.js`);
    expect(asset.headers.get('content-type')).toContain('text/javascript');
    expect(await asset.text()).toContain('INCOMING_CALL');
    expect((await fetch(`${t.url}/embed/assets/..%2Fembed.module.js`)).status).toBe(404);
  });

  it('refuses a start with an origin that is not an https origin', async () => {
    await expect(startTestApp({ EMBED_SALESFORCE_ORIGINS: 'https://acme.lightning.force.com/lightning/page' })).rejects.toThrow(
      /EMBED_SALESFORCE_ORIGINS: "https:\/\/acme.lightning.force.com\/lightning\/page" is not an origin/,
    );
    await expect(startTestApp({ EMBED_HUBSPOT_ORIGINS: 'http://app.hubspot.com' })).rejects.toThrow(/EMBED_HUBSPOT_ORIGINS/);
  });

  it('binding: admin only, validated; a code pairs once; the key opens a session for its extensions only; revoked, nothing works', async () => {
    expect((await fetch(`${t.url}/admin/embed/bindings`)).status).toBe(401);
    const bad = await admin('', { method: 'POST', body: JSON.stringify({ extensions: ['21x'], label: '' }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/extensions.0: an extension is/);
    const created = await admin('', { method: 'POST', body: JSON.stringify({ extensions: ['0003*210'], label: 'Ann Lee' }) });
    expect(created.status).toBe(201);
    const { code, binding } = (await created.json()) as { code: string; binding: { id: string } };

    expect((await fetch(`${t.url}/embed/pair`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `code=${code}` })).status).toBe(415);
    expect((await json('/embed/pair', { code: 'hello' })).status).toBe(400);
    expect((await json('/embed/pair', { code: code.slice(0, -2) + 'xx' })).status).toBe(401);
    const paired = await json('/embed/pair', { code });
    expect(paired.status).toBe(201);
    const { key, extensions } = (await paired.json()) as { key: string; extensions: string[] };
    expect(extensions).toEqual(['0003*210']);
    const again = await json('/embed/pair', { code });
    expect(again.status).toBe(403);
    expect(((await again.json()) as { message: string }).message).toMatch(/already used/);

    expect((await fetch(`${t.url}/embed/session`, { method: 'POST' })).status).toBe(401);
    const session = await fetch(`${t.url}/embed/session`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
    expect(session.status).toBe(200);
    expect(session.headers.get('cache-control')).toBe('no-store');
    const s = (await session.json()) as { token: string; extensions: string[]; policies: Record<string, { connection: string; crm: string; unknownCaller: string }> };
    expect(s.extensions).toEqual(['0003*210']);
    expect(s.policies['0003*210']).toMatchObject({ connection: 'demo', crm: 'file', unknownCaller: 'log-without-contact' });
    // The token opens the stream of its own extension, and only that.
    const own = await fetch(`${t.url}/agent/session?token=${s.token}`);
    expect(((await own.json()) as { extensions: string[] }).extensions).toEqual(['0003*210']);

    const list = (await (await admin('')).json()) as { bindings: { id: string; pairedAt?: string; lastSeenAt?: string }[] };
    const listed = list.bindings.find((b) => b.id === binding.id)!;
    expect(listed.pairedAt).toBeDefined();
    expect(listed.lastSeenAt).toBeDefined();
    expect(JSON.stringify(list)).not.toContain(key.split('.')[1]);

    expect((await admin(`/${binding.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await admin(`/${binding.id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(`${t.url}/embed/session`, { method: 'POST', headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
    // Nothing secret reached the logs.
    expect(JSON.stringify(t.logs)).not.toContain(key.split('.')[1]);
    expect(JSON.stringify(t.logs)).not.toContain(code);
  });

  it('a new code for an existing binding replaces the panel that held it', async () => {
    const created = (await (await admin('', { method: 'POST', body: JSON.stringify({ extensions: ['0003*211'], label: 'Bob' }) })).json()) as { code: string; binding: { id: string } };
    const first = (await (await json('/embed/pair', { code: created.code })).json()) as { key: string };
    const renewed = await admin(`/${created.binding.id}/code`, { method: 'POST', body: JSON.stringify({ codeTtlHours: 1 }) });
    expect(renewed.status).toBe(201);
    const second = (await (await json('/embed/pair', { code: ((await renewed.json()) as { code: string }).code })).json()) as { key: string };
    expect((await fetch(`${t.url}/embed/session`, { method: 'POST', headers: { authorization: `Bearer ${first.key}` } })).status).toBe(401);
    expect((await fetch(`${t.url}/embed/session`, { method: 'POST', headers: { authorization: `Bearer ${second.key}` } })).status).toBe(200);
    expect((await admin('/zzzzzzzzzz/code', { method: 'POST', body: '{}' })).status).toBe(404);
  });
});
