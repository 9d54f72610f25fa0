/**
 * Plays a realistic call against a running connector, the way VoipNow would send it, so a
 * deployment can be checked before VoipNow is pointed at it.
 *
 *   npm run simulate -- --scenario answered --from 0015551234567 --ext 0003*210
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { INGEST_PREFIX } from '../ingest/ingest-path';

const SCENARIOS = {
  answered: ['dial-in', 'answer-in', 'hangup:ANSWER'],
  missed: ['dial-in', 'hangup:NOANSWER'],
  busy: ['dial-in', 'hangup:BUSY'],
  abandoned: ['dial-in', 'hangup:CANCEL'],
  outbound: ['dial-out', 'answer-out', 'hangup:ANSWER'],
  'outbound-unanswered': ['dial-out', 'hangup:NOANSWER'],
  // A ring group: the CallID rings --ext and the --group members; --ext answers, the others stop ringing.
  'ring-group': ['dial-in@all', 'answer-in', 'hangup:CANCEL@group', 'hangup:ANSWER'],
  'ring-group-missed': ['dial-in@all', 'hangup:NOANSWER@all'],
} as const;
type Scenario = keyof typeof SCENARIOS;

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.CONNECTOR_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}` },
    token: { type: 'string' },
    scenario: { type: 'string', default: 'answered' },
    method: { type: 'string', default: 'GET' },
    from: { type: 'string', default: '0015551234567' },
    name: { type: 'string', default: 'Jane Roe' },
    to: { type: 'string', default: '003258422544' },
    ext: { type: 'string', default: '0003*210' },
    group: { type: 'string', default: '0003*211,0003*212' },
    did: { type: 'string', default: '+3222222222' },
    ring: { type: 'string', default: '2' },
    talk: { type: 'string', default: '3' },
    'call-id': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help || !(values.scenario in SCENARIOS) || !['GET', 'POST'].includes(values.method.toUpperCase())) {
  console.log(`Usage: npm run simulate -- [--scenario ${Object.keys(SCENARIOS).join('|')}] [--method GET|POST]
       [--url ${values.url}] [--token T] [--from NUMBER] [--name NAME] [--to NUMBER] [--ext ORG*EXT]
       [--group ORG*EXT,ORG*EXT (the other members, for ring-group scenarios)] [--ring SECONDS] [--talk SECONDS] [--call-id ID]
The token defaults to INGEST_TOKEN, then to var/secrets/INGEST_TOKEN (what a development start generated).`);
  process.exit(values.help ? 0 : 2);
}

function token(): string {
  if (values.token) return values.token;
  if (process.env.INGEST_TOKEN) return process.env.INGEST_TOKEN.split(',')[0].trim();
  const file = resolve(process.env.SECRETS_DIR ?? 'var/secrets', 'INGEST_TOKEN');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  console.error('No ingest token: pass --token, set INGEST_TOKEN, or start the connector once so it generates var/secrets/INGEST_TOKEN.');
  process.exit(2);
}

async function main() {
  const scenario = values.scenario as Scenario;
  const method = values.method.toUpperCase() as 'GET' | 'POST';
  const callId = values['call-id'] ?? `${Math.floor(Date.now() / 1000)}.${randomBytes(3).toString('hex')}`;
  const outbound = scenario.startsWith('outbound');
  const secret = token();
  const group = values.group
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const step of SCENARIOS[scenario] as readonly string[]) {
    const [what, who = 'ext'] = step.split('@');
    const [type, status] = what.split(':') as [string, string?];
    const extensions = who === 'all' ? [values.ext, ...group] : who === 'group' ? group : [values.ext];
    for (const ext of extensions) {
      const params: Record<string, string> = outbound
        ? { CallID: callId, CallerIDNum: ext, CallerExtension: ext, CalledNumber: values.to, CallFlow: 'OUT' }
        : { CallID: callId, CallerIDNum: values.from, CallerIDNam: values.name, CalledDID: values.did, CalledExtension: ext, CalledNumber: values.did, CallFlow: 'IN' };
      params.CallStatus = status ?? 'CALLING';
      const url = new URL(`${INGEST_PREFIX}/${type}`, values.url);
      url.searchParams.set('token', secret);
      let res: Response;
      if (method === 'GET') {
        for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
        res = await fetch(url);
      } else {
        res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
      }
      const body = await res.text();
      console.log(`${method} ${type.padEnd(10)} ${ext.padEnd(10)} CallID=${callId} → ${res.status} ${body}`);
      if (res.status >= 300) process.exitCode = 1;
    }
    if (type.startsWith('dial')) await sleep(Number(values.ring) * 1000);
    if (type.startsWith('answer')) await sleep(Number(values.talk) * 1000);
  }
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

main().catch((err: unknown) => {
  console.error(`Could not reach the connector at ${values.url}: ${(err as Error).message}`);
  process.exit(1);
});
