import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { AdminController } from '../../src/admin/admin.controller';
import { OpsController } from '../../src/admin/ops.controller';
import { EmbedAdminController } from '../../src/embed/embed-admin.controller';
import { AgentLinksController } from '../../src/screen-pop/agent-links.controller';
import { startTestApp, TEST_ADMIN_TOKEN, TestApp } from '../support/test-app';

/** Every route of the admin controllers that is not a GET, read from the controllers themselves. */
function stateChangingRoutes(): { method: string; path: string }[] {
  return [AdminController, OpsController, EmbedAdminController, AgentLinksController].flatMap((controller) => {
    const base = Reflect.getMetadata(PATH_METADATA, controller) as string;
    const proto = controller.prototype as unknown as Record<string, object>;
    return Object.getOwnPropertyNames(proto)
      .filter((name) => name !== 'constructor' && Reflect.hasMetadata(PATH_METADATA, proto[name]))
      .map((name) => ({
        method: RequestMethod[Reflect.getMetadata(METHOD_METADATA, proto[name]) as number],
        path: `/${base}/${Reflect.getMetadata(PATH_METADATA, proto[name]) as string}`
          .replace(':name', 'demo')
          .replace(/:(\w+)/g, 'x-$1')
          .replace(/\/+/g, '/')
          .replace(/\/$/, ''),
      }))
      .filter((r) => r.method !== 'GET');
  });
}

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

  it.each(stateChangingRoutes().map((r) => [`${r.method} ${r.path}`, r] as const))('%s refuses the Basic credentials a browser caches (401)', async (_name, route) => {
    const res = await fetch(`${t.url}${route.path}`, { method: route.method, headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: 'minutes=600' });
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
