import { connect } from 'node:net';
import { startTestApp, TEST_TOKEN, TestApp } from '../support/test-app';

/**
 * A sender that trickles its request (slow-loris) is cut once REQUEST_TIMEOUT_MS has passed, not
 * whenever Node next sweeps its connections (every 30 s, so a 10 s limit used to be enforced after
 * 30 to 80 s). The trickle below would take 20 s in all: the server must answer before its end.
 */
async function trickle(url: string, head: string, pieces: string[]): Promise<{ answer: string; piecesSent: number }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise((r) => socket.once('connect', r));
  let answer = '';
  let ended = false;
  socket.on('data', (d) => (answer += d.toString()));
  const done = new Promise<void>((r) =>
    socket.once('close', () => {
      ended = true;
      r();
    }),
  );
  socket.on('error', () => undefined);
  socket.write(head);
  let sent = 0;
  for (const piece of pieces) {
    if (ended) break;
    await new Promise((r) => setTimeout(r, 500));
    if (ended) break;
    socket.write(piece);
    sent++;
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 3000)))]);
  clearTimeout(timer);
  socket.destroy();
  return { answer, piecesSent: sent };
}

describe('Slow requests', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ REQUEST_TIMEOUT_MS: '1000' });
  });
  afterAll(() => t.close());

  it('a body trickled a byte at a time is cut (408) before it is complete', async () => {
    const body = 'CallID=1.2&X=' + 'a'.repeat(27);
    const head = `POST /voipnow/events/dial-in?token=${TEST_TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`;
    const { answer, piecesSent } = await trickle(t.url, head, body.split(''));
    expect(piecesSent).toBeLessThan(body.length);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  }, 30_000);
});
