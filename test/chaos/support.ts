import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { escapeIdPart } from '../../src/ingest/call-event';
import { QueueName } from '../../src/queue/queues';
import { createRedis } from '../../src/redis/redis-connection';
import { FakeHubSpot } from '../fakes/fake-hubspot';
import { eventually, newCallId, sendEvent, TEST_ADMIN_TOKEN } from '../support/test-app';

/**
 * What the chaos scenarios share: a stream of calls, the CRMs' view of what was logged, and the
 * per-scenario report. Processes and the network: ./processes.ts.
 */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const EXTENSION = '0003*210';
export const CALLER = '0015551234567';
export const HS_TOKEN = 'pat-test-token';

/** The connector's config for the file CRM: each call is one JSON line in `calls.jsonl`. */
export function fileCrmConfig(dir: string, workers = 'callLogAttempts: 30, lockDurationMs: 1500'): string {
  writeFileSync(join(dir, 'contacts.csv'), 'id,name,company,phone\nc-001,Jane Roe,Acme Corp,(555) 123-4567\n');
  writeFileSync(
    join(dir, 'connector.yaml'),
    `calls: { hangupSettleMs: 0 }
workers: { ${workers} }
connections:
  crm: { type: file, contactsCsv: contacts.csv, callLogFile: calls.jsonl }
mappings:
  defaults: { connection: crm, country: US }
`,
  );
  return join(dir, 'connector.yaml');
}

/**
 * The connector's config for a HubSpot connection at `basePath`. The connector's own budget is set
 * far above the fake's limits: these scenarios are about what the CRM does, not about our scheduler.
 */
export function hubspotConfig(dir: string, basePath: string, opts: { workers?: string; rateLimit?: string; extensions?: string } = {}): string {
  writeFileSync(
    join(dir, 'connector.yaml'),
    `calls: { hangupSettleMs: 0 }
workers: { ${opts.workers ?? 'lockDurationMs: 1500'} }
connections:
  hs:
    type: hubspot
    basePath: "${basePath}"
    auth: { flow: private-app, tokenEnv: HS_TOKEN }
    portalId: 4242
    uiDomain: app.hubspot.com
    rateLimit: ${opts.rateLimit ?? '{ requests: 100000, perSeconds: 10 }'}
mappings:
  defaults: { connection: hs, country: US }
  extensions: { ${opts.extensions ?? ''} }
`,
  );
  return join(dir, 'connector.yaml');
}

/** The CRM's count of call records per call, keyed by CallID. */
export type LoggedCounts = Map<string, number>;

export async function loggedInFile(dir: string): Promise<LoggedCounts> {
  const lines = (await readFile(join(dir, 'calls.jsonl'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
  const counts: LoggedCounts = new Map();
  for (const l of lines) {
    const id = (JSON.parse(l) as { callId: string }).callId;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** HubSpot Call objects carry the connector's idempotency key, `vn-<CallID>` (one activity per customer call). */
export function loggedInHubSpot(hs: FakeHubSpot, callIds: Iterable<string>): LoggedCounts {
  const byKey = new Map<string, number>();
  for (const c of hs.calls()) {
    const key = String(c.properties.voipnow_call_key ?? '');
    byKey.set(key, (byKey.get(key) ?? 0) + 1);
  }
  const counts: LoggedCounts = new Map();
  const known = new Map([...callIds].map((id) => [`vn-${escapeIdPart(id)}`, id]));
  for (const [key, n] of byKey) counts.set(known.get(key) ?? key, n);
  return counts;
}

/**
 * `n` HubSpot contacts with numbers +1 555 200 0000…, and the caller numbers VoipNow would send for
 * them: a stream rotating over these callers makes the connector look numbers up, not only hit its cache.
 */
export function addCallers(hs: FakeHubSpot, n: number): { caller: (i: number) => string; contactOf: Map<string, string> } {
  const contactOf = new Map<string, string>();
  const numbers: string[] = [];
  for (let i = 0; i < n; i++) {
    const line = String(i).padStart(4, '0');
    contactOf.set(`001555200${line}`, hs.addContact({ firstname: `Caller${i}`, lastname: 'Chaos', phone: `(555) 200-${line}` }));
    numbers.push(`001555200${line}`);
  }
  return { caller: (i) => numbers[i % n], contactOf };
}

/** Accepted calls whose HubSpot record is not associated with their caller's contact (logged without it, or with another). */
export function misassociated(hs: FakeHubSpot, stream: CallStream, contactOf: Map<string, string>): number {
  const byKey = new Map(hs.calls().map((c) => [String(c.properties.voipnow_call_key), c]));
  let wrong = 0;
  for (const id of stream.accepted) {
    const call = byKey.get(`vn-${escapeIdPart(id)}`);
    if (!call) continue; // counted as lost
    const want = contactOf.get(stream.callers.get(id) ?? '');
    if (!call.associations?.some((a) => a.to.id === want)) wrong += 1;
  }
  return wrong;
}

export interface StreamStats {
  sent: number;
  accepted: number;
  refused503: number;
}

/**
 * Plays calls (Dial-In, then Hangup) from `senders` loops until `stop()`, sender i talking to
 * `urls[i % urls.length]` (round robin over API processes). A call counts as accepted when its
 * Hangup got 202; a 503 or a refused connection counts as refused; anything else fails the test.
 */
export function callStream(urls: string[], senders: number, pauseMs = 10, caller: (n: number) => string = () => CALLER) {
  let running = true;
  let calls = 0;
  const accepted = new Set<string>();
  /** Every call begun: accepted, or refused at Dial-In or Hangup (a refused event may still have been stored). */
  const started = new Set<string>();
  /** CallID → the caller's number, for the calls whose Hangup was accepted. */
  const callers = new Map<string, string>();
  const stats: StreamStats = { sent: 0, accepted: 0, refused503: 0 };
  const loop = async (i: number) => {
    const url = urls[i % urls.length];
    while (running) {
      const id = newCallId();
      const from = caller(calls++);
      started.add(id);
      const params = { CallID: id, CallerIDNum: from, CalledExtension: EXTENSION, CallFlow: 'IN' };
      for (const [type, extra] of [
        ['dial-in', {}],
        ['hangup', { CallStatus: 'ANSWER' }],
      ] as const) {
        stats.sent += 1;
        let status: number;
        try {
          const res = await sendEvent(url, type, { ...params, ...extra });
          status = res.status;
          if (status !== 202 && status !== 503) throw new Error(`unexpected ${res.status}: ${JSON.stringify(res.body)}`);
        } catch (err) {
          if ((err as Error).message.startsWith('unexpected')) throw err;
          status = 503; // connection refused or reset: not accepted either
        }
        if (status === 202) {
          stats.accepted += 1;
          if (type === 'hangup') {
            accepted.add(id);
            callers.set(id, from);
          }
        } else stats.refused503 += 1;
      }
      await sleep(pauseMs);
    }
  };
  const loops = Array.from({ length: senders }, (_, i) => loop(i));
  return {
    accepted,
    started,
    callers,
    stats,
    /** Waits until `n` calls are accepted: a loaded machine sends fewer per second, and the scenarios need enough of them. */
    untilCalls: (n: number) => eventually(() => (accepted.size >= n ? true : undefined), 30_000, `${n} calls accepted`),
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
export type CallStream = ReturnType<typeof callStream>;

export interface Report {
  scenario: string;
  eventsSent: number;
  eventsAccepted: number;
  refused503: number;
  callsAccepted: number;
  crmRecords: number;
  duplicates: number;
  lost: number;
  refusedButLogged: number;
  [extra: string]: string | number;
}

/**
 * Waits until every accepted call is in the CRM (or `ms` passes), then counts: records, calls
 * with more than one record, accepted calls with none. Prints the `chaos report:` line.
 */
export async function report(
  scenario: string,
  stream: CallStream,
  logged: () => Promise<LoggedCounts> | LoggedCounts,
  opts: { ms?: number; extra?: () => Promise<Record<string, number | string>> } = {},
): Promise<Report> {
  await eventually(
    async () => {
      const counts = await logged();
      return [...stream.accepted].every((id) => counts.has(id)) ? true : undefined;
    },
    opts.ms ?? 45_000,
    `every accepted call of "${scenario}" to be logged`,
  ).catch(() => undefined); // the report below says how many are missing
  await sleep(500); // anything still retrying would show up as a duplicate now
  const counts = await logged();
  const result: Report = {
    scenario,
    eventsSent: stream.stats.sent,
    eventsAccepted: stream.stats.accepted,
    refused503: stream.stats.refused503,
    callsAccepted: stream.accepted.size,
    crmRecords: [...counts.values()].reduce((a, b) => a + b, 0),
    duplicates: [...counts.values()].filter((n) => n > 1).length,
    lost: [...stream.accepted].filter((id) => !counts.has(id)).length,
    // A 503 promises nothing either way: Redis may have stored the event after the ingest gave up waiting.
    refusedButLogged: [...stream.started].filter((id) => !stream.accepted.has(id) && counts.has(id)).length,
    ...(opts.extra ? await opts.extra() : {}),
  };
  process.stderr.write(`chaos report: ${JSON.stringify(result)}\n`);
  return result;
}

/** Call-log job counts by state, and the attempts the completed ones took. */
export async function callLogJobs(redisUrl: string, prefix: string) {
  const connection = createRedis(redisUrl, 'plain'); // a Cluster on redis+cluster://
  connection.on('error', () => undefined);
  const queue = new Queue(QueueName.CallLog, { connection, prefix });
  try {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
    const completed = await queue.getCompleted(0, -1);
    const failed = await queue.getFailed(0, -1);
    return {
      counts,
      failedReasons: failed.map((j) => j.failedReason),
      /** Attempts that failed before the job succeeded (retryable errors; delays for 429s spend none). */
      failedAttempts: completed.reduce((n, j) => n + Math.max(0, j.attemptsMade - 1), 0),
      maxAttempts: completed.reduce((n, j) => Math.max(n, j.attemptsMade), 0),
    };
  } finally {
    await queue.close();
    await connection.quit().catch(() => connection.disconnect());
  }
}

/** Calls the admin API of a connector. */
export async function admin(baseUrl: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}
