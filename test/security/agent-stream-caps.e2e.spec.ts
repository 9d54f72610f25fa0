import { openSse, SseConnection } from '../screen-pop/sse-client';
import { eventually, newCallId, sendEvent, startTestApp, TEST_ADMIN_TOKEN, TestApp } from '../support/test-app';

/**
 * One leaked agent link opening streams in a loop must not take the sockets VoipNow's events
 * need: streams are capped per link, per source address and in all (429 with the reason), and
 * ingest keeps answering while the caps hold.
 */
describe('Agent stream caps', () => {
  let t: TestApp;
  const open: SseConnection[] = [];

  beforeAll(async () => {
    // The caps are small here; the source address comes from X-Forwarded-For through a trusted local proxy.
    t = await startTestApp({ AGENT_STREAMS_PER_LINK: '2', AGENT_STREAMS_PER_ADDRESS: '3', AGENT_STREAMS_MAX: '4', TRUST_PROXY: 'loopback' });
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await t.close();
  });

  const mint = async (ext: string) => {
    const res = await fetch(`${t.url}/admin/agent-links`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ extensions: [ext] }),
    });
    return ((await res.json()) as { token: string }).token;
  };
  const stream = async (token: string, from: string) => {
    const c = await openSse(`${t.url}/agent/stream?token=${encodeURIComponent(token)}`, { 'x-forwarded-for': from });
    if (c.status === 200) {
      open.push(c);
      await eventually(() => (c.messages.some((m) => m.event === 'ready') ? true : undefined), 10_000, 'the ready event');
    }
    return c;
  };

  it('refuses a link, an address, then the server past their caps, and keeps taking events', async () => {
    const [a, b, c, d] = [await mint('0003*210'), await mint('0003*211'), await mint('0003*212'), await mint('0003*213')];
    expect((await stream(a, '198.51.100.1')).status).toBe(200);
    expect((await stream(a, '198.51.100.1')).status).toBe(200);

    const perLink = await stream(a, '198.51.100.1');
    expect(perLink.status).toBe(429);
    expect(JSON.parse(perLink.body!).message).toMatch(/AGENT_STREAMS_PER_LINK/);

    expect((await stream(b, '198.51.100.1')).status).toBe(200);
    const perAddress = await stream(c, '198.51.100.1');
    expect(perAddress.status).toBe(429);
    expect(JSON.parse(perAddress.body!).message).toMatch(/AGENT_STREAMS_PER_ADDRESS/);

    expect((await stream(c, '198.51.100.2')).status).toBe(200);
    const total = await stream(d, '198.51.100.3');
    expect(total.status).toBe(429);
    expect(JSON.parse(total.body!).message).toMatch(/AGENT_STREAMS_MAX/);

    // The server is at its cap for streams, and VoipNow's events are still taken.
    for (const type of ['dial-in', 'answer-in', 'hangup']) {
      expect((await sendEvent(t.url, type, { CallID: newCallId(), CallerIDNum: '0015551234567', CalledExtension: '0003*210', CallFlow: 'IN', CallStatus: 'ANSWER' })).status).toBe(202);
    }

    // A closed page frees its slot.
    open.shift()!.close();
    await eventually(
      async () => {
        const again = await stream(d, '198.51.100.3');
        return again.status === 200 ? true : undefined;
      },
      10_000,
      'a slot freed by the closed page',
    );
  });
});
