import { randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { startApp, StartedApp } from '../../src/bootstrap';
import { CallUpdate } from '../../src/calls/call-update.publisher';
import { createLogger } from '../../src/logging/logger';
import { createRedis, RedisClient } from '../../src/redis/redis-connection';
import { RedisKeys } from '../../src/redis/redis-keys';
import { dropKeys } from './redis-keys';

export const TEST_TOKEN = 'test-ingest-token-0123456789';
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';
/** So that two apps of one test verify each other's links, and nothing is generated on disk. */
export const TEST_LINK_SECRET = 'test-agent-link-secret-0123456789';

const SHIPPED_CONFIG = resolve(__dirname, '../../config/connector.yaml');

/**
 * A copy of the shipped configuration in `dir`, with its contacts CSV copied beside it and every
 * file connection's call log in `dir`: tests never append to the user's var/call-log.jsonl.
 */
export function shippedConfigCopy(dir: string): string {
  const doc = parseDocument(readFileSync(SHIPPED_CONFIG, 'utf8'));
  const connections = (doc.toJS() as { connections?: Record<string, { type?: string; contactsCsv?: string }> }).connections ?? {};
  for (const [name, settings] of Object.entries(connections)) {
    if (settings.type !== 'file') continue;
    if (settings.contactsCsv) {
      copyFileSync(resolve(SHIPPED_CONFIG, '..', settings.contactsCsv), join(dir, `contacts-${name}.csv`));
      doc.setIn(['connections', name, 'contactsCsv'], `contacts-${name}.csv`);
    }
    doc.setIn(['connections', name, 'callLogFile'], `call-log-${name}.jsonl`);
  }
  const file = join(dir, 'connector.yaml');
  writeFileSync(file, doc.toString());
  return file;
}

export interface TestApp extends StartedApp {
  prefix: string;
  redis: RedisClient;
  /** Every JSON log line the app wrote, parsed. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * Starts the real connector in this process on a free port, against the real Redis, with its
 * own key prefix so test files running side by side never see each other's queues.
 */
export async function startTestApp(env: Partial<Record<string, string>> = {}): Promise<TestApp> {
  const prefix = env.REDIS_PREFIX ?? `t${randomBytes(4).toString('hex')}`;
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger(env.LOG_LEVEL ?? 'info', {
    write(line: string) {
      logs.push(JSON.parse(line));
      // For the whole-run log audit (test/support/log-audit.js).
      if (process.env.VNCC_TEST_LOG_DIR) appendFileSync(join(process.env.VNCC_TEST_LOG_DIR, `${process.pid}.jsonl`), line.endsWith('\n') ? line : `${line}\n`);
    },
  });
  const redisUrl = env.REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  // The ingest's spool in a temp directory of the app's own (never the repo's var/), unless the test names one.
  const ownSpool = env.SPOOL_DIR ? undefined : mkdtempSync(join(tmpdir(), 'vncc-test-spool-'));
  // Config (a copy of the shipped one unless the test names its own) and secrets there too.
  const ownDir = mkdtempSync(join(tmpdir(), 'vncc-test-app-'));
  let started: StartedApp;
  try {
    started = await startApp({
      env: {
        PORT: '0',
        HOST: '127.0.0.1',
        REDIS_URL: redisUrl,
        REDIS_PREFIX: prefix,
        INGEST_TOKEN: TEST_TOKEN,
        ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        AGENT_LINK_SECRET: TEST_LINK_SECRET,
        CONFIG_FILE: env.CONFIG_FILE ?? shippedConfigCopy(ownDir),
        SECRETS_DIR: join(ownDir, 'secrets'),
        ...(ownSpool ? { SPOOL_DIR: ownSpool } : {}),
        ...env,
      },
      logger,
    });
  } catch (err) {
    rmSync(ownDir, { recursive: true, force: true });
    if (ownSpool) rmSync(ownSpool, { recursive: true, force: true });
    throw err;
  }
  const redis = createRedis(redisUrl, 'plain', { maxRetriesPerRequest: 1 }); // as the app reads REDIS_URL (Sentinel, Cluster too)
  redis.on('error', () => undefined);
  let closed = false;
  return {
    ...started,
    prefix,
    redis,
    logs,
    async close() {
      if (closed) return;
      closed = true;
      await started.app.close();
      if (ownSpool) rmSync(ownSpool, { recursive: true, force: true });
      rmSync(ownDir, { recursive: true, force: true });
      await dropKeys(redis, `${prefix}:*`);
      redis.disconnect();
    },
  };
}

/** Sends one VoipNow event the way VoipNow does: GET with a query string or POST with a form. */
export async function sendEvent(baseUrl: string, type: string, params: Record<string, string>, opts: { method?: 'GET' | 'POST'; token?: string | null } = {}): Promise<{ status: number; body: any }> {
  const method = opts.method ?? 'GET';
  const token = opts.token === undefined ? TEST_TOKEN : opts.token;
  const query = new URLSearchParams(token === null ? {} : { token });
  let res: Response;
  if (method === 'GET') {
    for (const [k, v] of Object.entries(params)) query.append(k, v);
    res = await fetch(`${baseUrl}/voipnow/events/${type}?${query}`);
  } else {
    res = await fetch(`${baseUrl}/voipnow/events/${type}?${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    });
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep text
  }
  return { status: res.status, body };
}

/** Polls until `check` returns a value other than undefined, or fails after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, ms = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let seq = 0;
/** A CallID unique to this test run, shaped like VoipNow's. */
export function newCallId(): string {
  seq += 1;
  return `${Date.now()}.${process.pid}${seq}`;
}

/**
 * Collects into `updates` every card update the app publishes (the agent pages' fan-out), from a
 * subscriber of the test's own; disconnect the returned client when done.
 */
export async function subscribeUpdates(prefix: string, updates: CallUpdate[]): Promise<RedisClient> {
  const sub = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 'plain');
  await sub.psubscribe(new RedisKeys(prefix).updates('*'));
  sub.on('pmessage', (_p, _c, message) => updates.push(JSON.parse(message)));
  return sub;
}
