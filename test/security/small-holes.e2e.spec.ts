import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, newCallId, sendEvent, startTestApp, TEST_ADMIN_TOKEN, TEST_TOKEN, TestApp } from '../support/test-app';

const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

describe('Smaller holes', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    // A config of the test's own: a file CRM whose contacts CSV the connector appends unknown callers to.
    dir = mkdtempSync(join(tmpdir(), 'vncc-holes-'));
    writeFileSync(join(dir, 'contacts.csv'), 'id,name,company,phone,mobile,email,owner\nc1,Jane Roe,Acme,+15551230000,,,\n');
    writeFileSync(
      join(dir, 'connector.yaml'),
      `calls: { hangupSettleMs: 0 }
connections:
  demo: { type: file, contactsCsv: contacts.csv, callLogFile: call-log.jsonl, country: US }
mappings:
  defaults: { connection: demo, country: US, actions: { unknownCaller: create-contact } }
`,
    );
    t = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), PUBLIC_URL: 'https://connector.example.com/' });
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a YAML alias bomb sent to config validation is refused with 400, not 500', async () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    const res = await fetch(`${t.url}/admin/config/validate`, { method: 'POST', headers: { ...admin, 'content-type': 'application/yaml' }, body: levels.join('\n') });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toMatch(/alias/);
  });

  it('minted agent links point at PUBLIC_URL, whatever Host the request named', async () => {
    const res = await fetch(`${t.url}/admin/agent-links`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json', 'x-forwarded-host': 'evil.example', host: 'evil.example' },
      body: '{"extensions":["0003*210"]}',
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { url: string; token: string };
    expect(body.url).toBe(`https://connector.example.com/agent?token=${body.token}`);
  });

  it('a 404 does not echo the token of the URL asked for', async () => {
    const res = await fetch(`${t.url}/voipnow/event/dial-in?token=secret-token-in-the-url&CallID=1`);
    expect(res.status).toBe(404);
    const text = await res.text();
    expect(text).not.toContain('secret-token-in-the-url');
    expect(text).toContain('/voipnow/event/dial-in');
  });

  it('a 404 whose message quotes the path stays a JSON body (an event type written "/?")', async () => {
    const res = await fetch(`${t.url}/voipnow/events/${encodeURIComponent('/?')}?token=${TEST_TOKEN}&CallerIDNum=15551234567`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { message: string };
    expect(body.message).toMatch(/^Unknown event/);
    expect(JSON.stringify(body)).not.toContain(TEST_TOKEN);
    expect(JSON.stringify(body)).not.toContain('15551234567');
  });

  it('a caller-ID name loses its bidi overrides and zero-width characters, and a formula is not written into the CSV as one', async () => {
    const callId = newCallId();
    const name = '=HYPERLINK("http://x.example","\u202Eevil\u200B")';
    const params = { CallID: callId, CallerIDNum: '+15559876543', CallerIDName: name, CalledExtension: '0003*210', CallFlow: 'IN', CallStatus: 'ANSWER' };
    expect((await sendEvent(t.url, 'hangup', params, { method: 'POST' })).status).toBe(202);
    const row = await eventually(
      () =>
        readFileSync(join(dir, 'contacts.csv'), 'utf8')
          .split('\n')
          .find((l) => l.includes('5559876543')),
      15_000,
      'the created contact',
    );
    expect(row).toContain(`"'=HYPERLINK(""http://x.example"",""evil"")"`);
    expect(row).not.toMatch(/[\u202e\u200b]/);
    const recent = await (await fetch(`${t.url}/admin/calls/recent?limit=5`, { headers: admin })).text();
    expect(recent).not.toMatch(/\\u202e|\\u200b|[\u202e\u200b]/i);
  });
});
