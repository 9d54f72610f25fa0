import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRedis } from '../../src/redis/redis-connection';
import { dropKeys } from '../support/redis-keys';
import { freePort } from '../support/redis-server';
import { eventually, shippedConfigCopy } from '../support/test-app';

/**
 * The connector as production runs it: built once, started as `node dist/main.js` (or through
 * `npm run start:prod`), stopped with SIGTERM. Needs `npm run build` first (`npm test` does it).
 */
const ROOT = resolve(__dirname, '../..');
const MAIN = join(ROOT, 'dist/main.js');
const SECRETS = { INGEST_TOKEN: 'prod-ingest-token-0123456789', ADMIN_TOKEN: 'prod-admin-token-0123456789', AGENT_LINK_SECRET: 'prod-link-secret-0123456789' };

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `tp${randomBytes(4).toString('hex')}`;

interface Run {
  proc: ChildProcess;
  out: string[];
  err: string[];
  exited: Promise<number | null>;
}

function run(command: string, args: string[], env: Record<string, string>): Run {
  // A scratch directory per process: its own config copy (its own call log), spool and secrets.
  const dir = mkdtempSync(join(tmpdir(), 'vncc-prod-'));
  const proc = spawn(command, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH!,
      HOST: '127.0.0.1',
      REDIS_URL,
      REDIS_PREFIX: PREFIX,
      CONFIG_FILE: shippedConfigCopy(dir),
      SPOOL_DIR: join(dir, 'spool'),
      SECRETS_DIR: join(dir, 'secrets'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const r: Run = {
    proc,
    out: [],
    err: [],
    exited: new Promise((res) =>
      proc.once('exit', (code) => {
        rmSync(dir, { recursive: true, force: true });
        res(code);
      }),
    ),
  };
  proc.stdout.on('data', (d: Buffer) => r.out.push(d.toString()));
  proc.stderr.on('data', (d: Buffer) => r.err.push(d.toString()));
  return r;
}

const lines = (r: Run) =>
  r.out
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('Production start and stop', () => {
  afterAll(async () => {
    const redis = createRedis(REDIS_URL, 'plain', { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    await dropKeys(redis, `${PREFIX}:*`).catch(() => undefined);
    redis.disconnect();
  });

  it('SIGTERM to `npm run start:prod` stops the connector cleanly: it logs that it stopped and frees its port', async () => {
    const port = await freePort();
    const r = run('npm', ['run', '-s', 'start:prod'], { ...SECRETS, NODE_ENV: 'production', PORT: String(port) });
    await eventually(async () => ((await fetch(`http://127.0.0.1:${port}/health/ready`)).ok ? true : undefined), 30_000, 'the connector to be ready');
    // Log lines are written in batches (up to 250 ms after): wait for it rather than race it.
    const started = await eventually(() => lines(r).find((l) => l.event === 'started'), 5000, 'the started line');
    expect(started.msg).toContain(`listening on http://127.0.0.1:${port}`);
    r.proc.kill('SIGTERM');
    await r.exited;
    await eventually(() => (lines(r).some((l) => l.event === 'stopped') ? true : undefined), 5000, 'the stopped line');
    await expect(fetch(`http://127.0.0.1:${port}/health/live`)).rejects.toThrow();
  }, 60_000);

  it('a port in use is one clear line and exit 1, not a stack trace', async () => {
    const server: Server = createServer();
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const r = run(process.execPath, [MAIN], { ...SECRETS, NODE_ENV: 'production', PORT: String(port) });
      expect(await r.exited).toBe(1);
      const stderr = r.err.join('').trim();
      expect(stderr.split('\n')).toHaveLength(1);
      expect(stderr).toMatch(new RegExp(`Port ${port} .*already in use.*PORT`));
    } finally {
      server.close();
    }
  }, 60_000);

  it("in production, every missing secret is reported at once, the configuration's CRM secrets included", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vncc-prod-config-'));
    try {
      writeFileSync(join(dir, 'connector.yaml'), 'connections:\n  sales: { type: hubspot, auth: { flow: private-app, tokenEnv: HUBSPOT_TOKEN } }\nmappings:\n  defaults: { connection: sales }\n');
      const r = run(process.execPath, [MAIN], { NODE_ENV: 'production', PORT: '0', CONFIG_FILE: join(dir, 'connector.yaml') });
      expect(await r.exited).toBe(1);
      const stderr = r.err.join('');
      for (const name of ['INGEST_TOKEN', 'ADMIN_TOKEN', 'AGENT_LINK_SECRET']) expect(stderr).toContain(`${name} is not set`);
      expect(stderr).toContain('HUBSPOT_TOKEN (or HUBSPOT_TOKEN_FILE) is not set');
      expect(stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it.each([
    ['a short admin token', { ...SECRETS, ADMIN_TOKEN: 'admin' }, /ADMIN_TOKEN is shorter than 16/],
    ['the admin token equal to the ingest token', { ...SECRETS, ADMIN_TOKEN: SECRETS.INGEST_TOKEN }, /ADMIN_TOKEN is the same as an INGEST_TOKEN/],
  ])(
    'in production, %s is refused',
    async (_what, secrets, message) => {
      const r = run(process.execPath, [MAIN], { ...secrets, NODE_ENV: 'production', PORT: '0' });
      expect(await r.exited).toBe(1);
      expect(r.err.join('')).toMatch(message);
    },
    30_000,
  );

  it('Redis unreachable: one line naming the masked URL (not one per retry), readiness says what is wrong, SIGTERM still stops it', async () => {
    const [port, redisPort] = [await freePort(), await freePort()];
    const r = run(process.execPath, [MAIN], { ...SECRETS, NODE_ENV: 'production', PORT: String(port), REDIS_URL: `redis://ops:hunter2-redis-pass@127.0.0.1:${redisPort}` });
    const ready = await eventually(
      async () => {
        // 503, or 200 "spooling" while the ingest spool can keep events: either way it names the problem.
        const body = (await (await fetch(`http://127.0.0.1:${port}/health/ready`)).json()) as { redis: { ok: boolean; problem?: string } };
        return body.redis.ok ? undefined : body;
      },
      60_000,
      'readiness to report Redis',
    );
    expect(ready.redis.problem).toContain(`Redis at redis://ops:***@127.0.0.1:${redisPort} does not answer`);
    // The workers have retried many times by now (every 0.1 to 2 s each).
    await eventually(() => (lines(r).some((l) => l.event === 'started') ? true : undefined), 10_000, 'the started line');
    await new Promise((res) => setTimeout(res, 3000));
    r.proc.kill('SIGTERM');
    expect(await r.exited).not.toBeNull();
    const log = lines(r);
    expect(log.filter((l) => l.event === 'redis.unreachable')).toHaveLength(1);
    expect(log.find((l) => l.event === 'redis.unreachable')?.msg).toContain(`redis://ops:***@127.0.0.1:${redisPort}`);
    expect(log.filter((l) => l.event === 'worker.error')).toEqual([]);
    expect(r.out.join('') + r.err.join('')).not.toContain('hunter2-redis-pass');
    expect(log.some((l) => l.event === 'stopped' || l.event === 'shutdown.timeout')).toBe(true);
  }, 120_000);
});
