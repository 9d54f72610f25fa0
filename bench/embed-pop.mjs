// Dial-In → pop inside the CRM, against the standalone agent page, in the same run and from the
// same updates: one agent watches extension 0003*210 in both at once, (a) the agent page
// (/agent?token=…) and (b) the Salesforce panel (/embed/salesforce) framed by a page standing in
// for Lightning, whose stand-in of Open CTI's script posts every call to it. For each Dial-In the
// time runs from the request leaving the sender to (a) the card drawn in the agent page (the frame
// after its update) and (b) the `screenPop` SOBJECT reaching the Lightning page. The connector is
// the built one (ROLE=all) against the fake Salesforce (answers in ~1 ms), so its share is the
// whole time; the ratio p99 (b) / p99 (a) is what embedding costs.
//
//   npm run bench:embed            (builds first; needs Redis and /usr/bin/chromium)
//   BENCH_CALLS=300 BENCH_INTERVAL_MS=50 npm run bench:embed
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { chromium } from 'playwright-core';
import { loadFake, percentile, root, sleep, startConnector, stop } from './support.mjs';

const require = createRequire(import.meta.url);
const { signAgentToken } = require(join(root, 'dist/screen-pop/agent-token.js'));
const calls = Number(process.env.BENCH_CALLS ?? 200);
const interval = Number(process.env.BENCH_INTERVAL_MS ?? 100);
const TOKEN = 'bench-ingest-token';
const ADMIN = 'bench-admin-token-0123456789';
const SECRET = 'bench-agent-link-secret-0123456789';
const EXT = '0003*210';

const dir = mkdtempSync(join(tmpdir(), 'vncc-bench-embed-'));
const { startFakeSalesforce } = loadFake(dir, 'fake-salesforce');
const { startCrmHosts } = loadFake(dir, 'fake-crm-hosts');
const sf = await startFakeSalesforce({ clientId: 'client-1', clientSecret: 'secret-1', refreshTokens: ['refresh-bench'] });
const numberOf = (i) => `001555${String(4000000 + i).padStart(7, '0')}`;
const contactOf = new Map(); // Salesforce id → call index
for (let i = 0; i < calls; i += 1) contactOf.set(sf.add('Contact', { Name: `Caller ${i}`, Phone: `(555) ${String(4000000 + i).slice(0, 3)}-${String(4000000 + i).slice(3)}` }), i);
writeFileSync(
  join(dir, 'connector.yaml'),
  `connections:
  sales:
    type: salesforce
    loginUrl: ${sf.url}
    auth: { flow: refresh-token, clientId: client-1, clientSecretEnv: SF_BENCH_SECRET, refreshTokenEnv: SF_BENCH_REFRESH }
mappings:
  organisations:
    "0003*": { connection: sales, country: US }
`,
);

const prefix = `bench-embed-${randomBytes(3).toString('hex')}`;
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const hosts = await startCrmHosts(() => url);
const connector = await startConnector(
  {
    CONFIG_FILE: join(dir, 'connector.yaml'),
    REDIS_PREFIX: prefix,
    INGEST_TOKEN: TOKEN,
    ADMIN_TOKEN: ADMIN,
    AGENT_LINK_SECRET: SECRET,
    SF_BENCH_SECRET: 'secret-1',
    SF_BENCH_REFRESH: 'refresh-bench',
    EMBED_SALESFORCE_ORIGINS: hosts.origin,
    SPOOL_DIR: join(dir, 'spool'),
  },
  { port },
);

if (!existsSync('/usr/bin/chromium')) throw new Error('Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium).');
// A profile as an agent's browser has: framed pages may keep their storage.
const profile = join(dir, 'profile');
mkdirSync(join(profile, 'Default'), { recursive: true });
writeFileSync(join(profile, 'Default', 'Preferences'), JSON.stringify({ profile: { cookie_controls_mode: 0, block_third_party_cookies: false } }));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1000, height: 800 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
// In every frame: the agent page notes when each call's card (final lookup) is drawn; the
// Lightning page notes when each screenPop arrives. Wall clock, as the sender's.
await context.addInitScript(observe, hosts.origin);
function observe(hostOrigin) {
  const w = globalThis;
  w.__drawn = {};
  w.__popped = {};
  w.document.addEventListener('vncc:update', (e) => {
    const u = e.detail.update;
    if (!u.lookup || u.lookup.status === 'pending' || w.__drawn[u.record.callId]) return;
    w.requestAnimationFrame(() => (w.__drawn[u.record.callId] ??= Date.now()));
  });
  if (w.location.origin === hostOrigin) {
    w.addEventListener('message', (e) => {
      const id = e.data && e.data.openCti === 'screenPop' && e.data.args.params && e.data.args.params.recordId;
      if (id) w.__popped[id] ??= Date.now();
    });
  }
}

// The agent page in a browser of its own: a second tab of one browser would be a background tab,
// whose frames the browser holds back.
const launchArgs = { executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] };
const browser = await chromium.launch(launchArgs);
const own = await browser.newContext({ viewport: { width: 1000, height: 800 } });
await own.addInitScript(observe, hosts.origin);
const standalone = await own.newPage();
await standalone.goto(`${url}/agent?token=${signAgentToken(SECRET, [EXT]).token}`);
await standalone.locator('#connection[data-state="live"]').waitFor({ timeout: 20_000 });
const created = await (await fetch(`${url}/admin/embed/bindings`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ extensions: [EXT], label: 'bench' }) })).json();
const lightning = context.pages()[0] ?? (await context.newPage());
await lightning.goto(`${hosts.url}/lightning`);
const panel = lightning.frameLocator('#softphone');
await panel.locator('#vncc-code').fill(created.code);
await panel.locator('#vncc-bind-form button').click();
await panel.locator('#connection[data-state="live"]').waitFor({ timeout: 20_000 });

// ---- the run: a Dial-In every `interval` ms, each hung up 2 s later --------------------------------
const sent = new Map();
const send = (type, i, callId, extra = {}) =>
  fetch(`${url}/voipnow/events/${type}?token=${TOKEN}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ CallID: callId, CallerIDNum: numberOf(i), CallerIDNam: `CALLER ${i}`, CalledExtension: EXT, CallFlow: 'IN', ...extra }).toString(),
  });
const hangups = [];
for (let i = 0; i < calls; i += 1) {
  const callId = `bench.${Date.now()}.${i}`;
  sent.set(callId, { i, at: Date.now() });
  await send('dial-in', i, callId, { CallStatus: 'CALLING' });
  hangups.push(sleep(2000).then(() => send('hangup', i, callId, { CallStatus: 'NOANSWER' })));
  await sleep(interval);
}
await Promise.all(hangups);
await sleep(2000);

const drawn = await standalone.evaluate(() => globalThis.__drawn);
const popped = await lightning.evaluate(() => globalThis.__popped);
const panelDrawn = await lightning.frames().find((f) => f.url().includes('/embed/salesforce')).evaluate(() => globalThis.__drawn);
const idOfIndex = new Map([...contactOf].map(([id, i]) => [i, id]));
const a = [];
const b = [];
const c = [];
for (const [callId, { i, at }] of sent) {
  if (drawn[callId]) a.push(drawn[callId] - at);
  if (panelDrawn[callId]) c.push(panelDrawn[callId] - at);
  const p = popped[idOfIndex.get(i)];
  if (p) b.push(p - at);
}
await context.close();
await browser.close();
await stop(connector);
await hosts.close();
await sf.close();
rmSync(dir, { recursive: true, force: true });
// The run's keys (the binding has no TTL).
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
for (let cursor = '0'; ; ) {
  const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
  if (keys.length) await redis.unlink(...keys);
  if ((cursor = next) === '0') break;
}
redis.disconnect();

const row = (name, xs) => `| ${name} | ${xs.length}/${calls} | ${percentile(xs, 50)} | ${percentile(xs, 99)} |`;
console.log(`Dial-In every ${interval} ms, ${calls} calls, one agent on ${EXT} in both surfaces at once (ms, wall clock)\n`);
console.log('| surface | calls seen | p50 | p99 |\n|---|---|---|---|');
console.log(row('agent page: card drawn', a));
console.log(row('Salesforce panel: card drawn', c));
console.log(row('Salesforce panel: screenPop at Lightning', b));
console.log(`\np99 ratio, panel ÷ agent page: ${(percentile(b, 99) / percentile(a, 99)).toFixed(2)} (goal ≤ 1.25)`);
process.exit(0);

function freePort() {
  return new Promise((resolvePort) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port: p } = s.address();
      s.close(() => resolvePort(p));
    });
  });
}
