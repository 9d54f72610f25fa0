import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { AdminController } from '../../src/admin/admin.controller';
import { startTestApp, TEST_ADMIN_TOKEN, TEST_TOKEN, TestApp } from '../support/test-app';

/**
 * Every admin route, read from the controller itself: a route added later is covered without
 * anyone remembering to list it here.
 */
function adminRoutes(): { method: string; path: string }[] {
  const base = Reflect.getMetadata(PATH_METADATA, AdminController) as string;
  const proto = AdminController.prototype as unknown as Record<string, unknown>;
  return Object.getOwnPropertyNames(proto)
    .filter((name) => name !== 'constructor' && Reflect.hasMetadata(PATH_METADATA, proto[name] as object))
    .map((name) => {
      const handler = proto[name] as object;
      const path = (Reflect.getMetadata(PATH_METADATA, handler) as string).replace(':name', 'demo').replace(/:(\w+)/g, 'x-$1');
      return { method: RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number], path: `/${base}/${path}`.replace(/\/+/g, '/').replace(/\/$/, '') };
    });
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('Admin API authentication', () => {
  let t: TestApp;
  const routes = adminRoutes().concat([
    { method: 'GET', path: '/admin/queues' },
    { method: 'GET', path: '/admin/queues/api/queues' },
  ]);

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('finds every route of the admin controller', () => {
    expect(routes.length).toBeGreaterThanOrEqual(13);
    expect(routes).toContainEqual({ method: 'POST', path: '/admin/jobs/failed/replay' });
    expect(routes).toContainEqual({ method: 'DELETE', path: '/admin/jobs/failed/x-id' });
    expect(routes).toContainEqual({ method: 'POST', path: '/admin/connections/demo/pause' });
  });

  const credentials: [string, string | undefined][] = [
    ['no Authorization header', undefined],
    ['a wrong bearer token', 'Bearer not-the-admin-token'],
    ['the ingest token', `Bearer ${TEST_TOKEN}`],
    ['the admin token with one character more', `Bearer ${TEST_ADMIN_TOKEN}x`],
    ['a prefix of the admin token', `Bearer ${TEST_ADMIN_TOKEN.slice(0, -1)}`],
    ['an empty bearer token', 'Bearer '],
    ['Basic auth with a wrong password', basic('ops', 'wrong')],
    ['Basic auth with the token as the user name', basic(TEST_ADMIN_TOKEN, '')],
    ['the token without a scheme', TEST_ADMIN_TOKEN],
  ];

  describe.each(credentials)('with %s', (_what, authorization) => {
    it.each(routes.map((r) => [`${r.method} ${r.path}`, r] as const))('%s answers 401 and does nothing', async (_name, route) => {
      const res = await fetch(`${t.url}${route.path}?queue=call-log&extension=0003*210&connection=demo&number=1`, {
        method: route.method,
        headers: { ...(authorization !== undefined ? { authorization } : {}), ...(route.method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        body: route.method === 'POST' ? JSON.stringify({ connection: 'demo', number: '0015551234567' }) : undefined,
      });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { message: string };
      expect(body.message).toMatch(/admin token|ADMIN_TOKEN/i);
    });
  });

  it('the refused requests changed nothing (the pause route named a real connection)', async () => {
    expect(await t.redis.keys(`${t.prefix}:paused:*`)).toEqual([]);
  });

  it.each(routes.map((r) => [`${r.method} ${r.path}`, r] as const))('%s is reachable with the admin token (not 401)', async (_name, route) => {
    const res = await fetch(`${t.url}${route.path}?queue=call-log&extension=0003*210`, {
      method: route.method,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(route.method === 'POST' ? { 'content-type': 'application/json' } : {}) },
      body: route.method === 'POST' ? JSON.stringify({}) : undefined,
    });
    expect(res.status).not.toBe(401);
    expect(res.status).toBeLessThan(500);
  });
});
