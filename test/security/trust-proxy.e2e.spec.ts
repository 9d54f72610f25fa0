import { newCallId, startTestApp, TEST_TOKEN, TestApp } from '../support/test-app';

/**
 * Behind a load balancer the client's address comes from X-Forwarded-For. The client writes
 * whatever it likes at the left of that header; only what trusted proxies appended (counted from
 * the right) may decide the INGEST_ALLOW_CIDRS check and the wrong-token limiter.
 */
async function post(t: TestApp, forwardedFor: string, token = TEST_TOKEN) {
  const res = await fetch(`${t.url}/voipnow/events/dial-in?token=${encodeURIComponent(token)}&CallID=${newCallId()}&CalledExtension=0003*210`, {
    headers: { 'x-forwarded-for': forwardedFor },
  });
  await res.text();
  return res.status;
}

describe.each([
  ['TRUST_PROXY=true (one proxy in front)', 'true'],
  ['TRUST_PROXY as the proxy address', '127.0.0.1/32'],
])('%s', (_name, trustProxy) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ TRUST_PROXY: trustProxy, INGEST_ALLOW_CIDRS: '203.0.113.10/32', AUTH_FAILURES_PER_MINUTE: '3' });
  });
  afterAll(() => t.close());

  it('accepts the allowed PBX as the proxy saw it', async () => {
    expect(await post(t, '203.0.113.10')).toBe(202);
  });

  it('refuses a client outside the allow-list that wrote the PBX address into X-Forwarded-For itself (403)', async () => {
    // What the proxy forwards when the client sent "X-Forwarded-For: 203.0.113.10": it appends the address it saw.
    expect(await post(t, '203.0.113.10, 198.51.100.7')).toBe(403);
  });

  it('counts wrong tokens against the real client however it varies the forged entries (429 after the limit)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push(await post(t, `10.9.0.${i}, 203.0.113.10`, 'wrong-token'));
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.slice(3)).toEqual([429, 429]);
    // ...and a right token from the PBX is still accepted.
    expect(await post(t, '10.9.0.99, 203.0.113.10')).toBe(202);
  });
});

describe('TRUST_PROXY unset', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ INGEST_ALLOW_CIDRS: '203.0.113.10/32' });
  });
  afterAll(() => t.close());

  it('ignores X-Forwarded-For altogether', async () => {
    expect(await post(t, '203.0.113.10')).toBe(403);
  });
});
