import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { eventually, newCallId, sendEvent, startTestApp } from '../support/test-app';

/** `npm test` must not write into the user's files: the shipped config's call log stays as it was. */
describe('Tests run on their own copy of the shipped configuration', () => {
  const userLog = resolve(__dirname, '../../var/call-log.jsonl');
  const sizeOf = (file: string) => (existsSync(file) ? statSync(file).size : -1);

  it('a call logged by a test app lands in the test’s own call log, not var/call-log.jsonl', async () => {
    const before = sizeOf(userLog);
    const t = await startTestApp();
    try {
      const callId = newCallId();
      const params = { CallID: callId, CallerIDNum: '0015551234567', CalledExtension: '0003*210', CallFlow: 'IN', CallStatus: 'ANSWER' };
      expect((await sendEvent(t.url, 'dial-in', params)).status).toBe(202);
      expect((await sendEvent(t.url, 'hangup', params)).status).toBe(202);
      const ownLog = join(dirname(t.env.configFile), 'call-log-demo.jsonl');
      await eventually(() => (existsSync(ownLog) && readFileSync(ownLog, 'utf8').includes(callId) ? true : undefined), 15_000, 'the call in the test’s own call log');
      expect(dirname(t.env.configFile)).not.toBe(resolve(__dirname, '../../config'));
    } finally {
      await t.close();
    }
    expect(sizeOf(userLog)).toBe(before);
  });
});
