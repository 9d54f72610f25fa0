import { ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Redis from 'ioredis';
import { eventually } from '../support/test-app';
import { dropKeys } from '../support/redis-keys';

const ADMIN = 'sighup-admin-token-0123456789';
const config = (target: string) => `connections:
  a: { type: file, contactsCsv: contacts.csv, callLogFile: calls-a.jsonl }
  b: { type: file, contactsCsv: contacts.csv, callLogFile: calls-b.jsonl }
mappings:
  defaults: { connection: ${target} }
`;

const freePort = () =>
  new Promise<number>((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });

/**
 * A real signal to a real connector process (dist/main.js, as `npm start` runs it; npm test
 * builds dist/ first): jest cannot deliver SIGHUP to code running inside it.
 */
describe('SIGHUP reloads the configuration of a running connector', () => {
  let dir: string;
  let child: ChildProcess;
  let url: string;
  const prefix = `tsig${randomBytes(3).toString('hex')}`;
  const logs: Record<string, unknown>[] = [];
  let stderr = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vncc-sighup-'));
    writeFileSync(join(dir, 'contacts.csv'), 'id,name,phone\n');
    writeFileSync(join(dir, 'connector.yaml'), config('a'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = fork(resolve(__dirname, '../../dist/main.js'), [], {
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        HOST: '127.0.0.1',
        REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        REDIS_PREFIX: prefix,
        CONFIG_FILE: join(dir, 'connector.yaml'),
        INGEST_TOKEN: 'sighup-ingest-token',
        ADMIN_TOKEN: ADMIN,
        LOG_LEVEL: 'info',
      },
      stdio: 'pipe',
    });
    let buffered = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += String(chunk);
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('{')) logs.push(JSON.parse(line));
    });
    await eventually(async () => ((await fetch(`${url}/health/ready`)).ok ? true : undefined), 20_000, 'the connector to start').catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\nexit code ${child.exitCode}; stderr: ${stderr.slice(-2000)}`);
    });
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    await dropKeys(redis, `${prefix}:*`);
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  const resolved = async () => {
    const res = await fetch(`${url}/admin/mappings/resolve?extension=0003*210`, { headers: { authorization: `Bearer ${ADMIN}` } });
    return ((await res.json()) as { connection: string }).connection;
  };
  const reloads = (event: string) => logs.filter((l) => l.event === event && l.trigger === 'SIGHUP').length;

  it('applies a changed file on SIGHUP, refuses a broken one, and keeps running either way', async () => {
    expect(await resolved()).toBe('a');
    // Unchanged file: the reload is the signal's doing alone (no file event to pick it up).
    child.kill('SIGHUP');
    await eventually(() => (reloads('config.reloaded') === 1 ? true : undefined), 5000, 'the SIGHUP reload');

    writeFileSync(join(dir, 'connector.yaml'), config('b'));
    child.kill('SIGHUP');
    await eventually(async () => ((await resolved()) === 'b' ? true : undefined), 5000, 'the mapping to change');
    // Log lines go out buffered (at the latest 250 ms later): wait for the line, do not expect it already.
    await eventually(() => (reloads('config.reloaded') >= 2 ? true : undefined), 5000, 'the second reload logged');

    writeFileSync(join(dir, 'connector.yaml'), 'mappings:\n  defaults: { connection: ghost }\n');
    child.kill('SIGHUP');
    await eventually(() => (reloads('config.refused') >= 1 ? true : undefined), 5000, 'the refused reload');
    expect(logs.find((l) => l.event === 'config.refused' && l.trigger === 'SIGHUP')!.problems).toContain('unknown connection "ghost"');
    expect(await resolved()).toBe('b');
    expect([child.exitCode, child.signalCode]).toEqual([null, null]);
  });
});
