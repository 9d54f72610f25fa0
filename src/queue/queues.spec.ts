import { parseCallEvent } from '../ingest/call-event';
import { logCallJob, logCallJobId, popJob } from './queues';

const hangup = (callId: string, extension: string) => {
  const r = parseCallEvent('hangup', { CallID: callId, CalledExtension: extension, CallFlow: 'IN', CallStatus: 'ANSWER' }, 1000, { maxExtraParameters: 0 });
  if (!r.ok) throw new Error('fixture did not parse');
  return r.event;
};

describe('job options', () => {
  it('a redelivered event maps to the same job ids (BullMQ ignores the second add); another extension of the ring group does not', () => {
    const a = hangup('1699.42', '0003*210');
    const again = hangup('1699.42', '0003*210');
    const other = hangup('1699.42', '0003*211');
    const log = (e: typeof a) => logCallJob(e, { settleMs: 0, attempts: 1, backoffMs: 1000 }).opts.jobId;
    const pop = (e: typeof a) => popJob(e).opts.jobId;
    expect(pop(again)).toBe(pop(a));
    expect(log(again)).toBe(log(a));
    expect(log(other)).not.toBe(log(a));
    expect(log(a)).toBe(logCallJobId('1699.42', '0003*210'));
    // BullMQ 6 refuses custom ids holding ':'.
    expect(log(a)).not.toContain(':');
  });

  it('call logging waits the settle time and retries on the configured back-off, and failed logs are kept for replay (30 days, 10,000 at most)', () => {
    const { opts } = logCallJob(hangup('1', '0003*210'), { settleMs: 2000, attempts: 7, backoffMs: 750 });
    expect(opts).toMatchObject({ delay: 2000, attempts: 7, backoff: { type: 'exponential', delay: 750 }, removeOnFail: { age: 30 * 24 * 3600, count: 10_000 } });
  });
});
