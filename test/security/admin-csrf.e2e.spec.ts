import { startTestApp, TEST_ADMIN_TOKEN, TestApp } from '../support/test-app';

/**
 * After an admin opened the queue dashboard, the browser holds Basic credentials for the
 * connector's origin and sends them with any request a web page makes there, a hidden
 * cross-site form included. Nothing that changes state may accept them.
 */
describe('Admin surface against cross-site requests', () => {
  let t: TestApp;
  const basic = `Basic ${Buffer.from(`ops:${TEST_ADMIN_TOKEN}`).toString('base64')}`;
  const bearer = `Bearer ${TEST_ADMIN_TOKEN}`;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const paused = async () => t.redis.keys(`${t.prefix}:paused:*`);

  it.each([
    ['POST', '/admin/connections/demo/pause', 'minutes=600'],
    ['POST', '/admin/jobs/failed/replay', 'queue=call-log'],
    ['POST', '/admin/config/reload', ''],
    ['POST', '/admin/agent-links', 'extensions=0003*210'],
    ['DELETE', '/admin/lookup-cache?connection=demo&number=0015551234567', undefined],
  ])('%s %s with the browser-cached Basic credentials is refused (401)', async (method, path, form) => {
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: basic, ...(form !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: form,
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { message: string }).message).toMatch(/Bearer/);
    expect(await paused()).toEqual([]);
  });

  it('a form body is refused (415) even with the Bearer token, and does nothing', async () => {
    const res = await fetch(`${t.url}/admin/connections/demo/pause`, {
      method: 'POST',
      headers: { authorization: bearer, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'minutes=600',
    });
    expect(res.status).toBe(415);
    expect(await paused()).toEqual([]);
  });

  it('the same pause with the Bearer token and JSON works (the refusals above were not an outage)', async () => {
    const res = await fetch(`${t.url}/admin/connections/demo/pause`, { method: 'POST', headers: { authorization: bearer, 'content-type': 'application/json' }, body: '{"minutes":1}' });
    expect(res.status).toBe(200);
    expect(await paused()).toHaveLength(1);
    expect((await fetch(`${t.url}/admin/connections/demo/resume`, { method: 'POST', headers: { authorization: bearer } })).status).toBe(200);
  });

  it('the dashboard opens with Basic auth and may not be framed by another site', async () => {
    const res = await fetch(`${t.url}/admin/queues`, { headers: { authorization: basic } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    await res.text();
  });

  it.each([
    ['PUT', '/admin/queues/api/queues/call-log/retry/failed'],
    ['PUT', '/admin/queues/api/queues/call-log/pause'],
    ['PUT', '/admin/queues/api/queues/call-log/clean/failed'],
  ])('the dashboard action %s %s is refused with Basic auth (read-only dashboard)', async (method, path) => {
    const res = await fetch(`${t.url}${path}`, { method, headers: { authorization: basic } });
    expect(res.status).toBe(405);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(await t.redis.exists(`${t.prefix}:call-log:meta-paused`, `${t.prefix}:call-log:paused`)).toBe(0);
    expect(await t.redis.hget(`${t.prefix}:call-log:meta`, 'paused')).toBeNull();
  });

  it('admin responses that carry tokens are never cached', async () => {
    const res = await fetch(`${t.url}/admin/agent-links`, { method: 'POST', headers: { authorization: bearer, 'content-type': 'application/json' }, body: '{"extensions":["0003*210"]}' });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(((await res.json()) as { token: string }).token).toBeTruthy();
  });
});
