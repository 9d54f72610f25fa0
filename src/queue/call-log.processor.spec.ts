import { DelayedError, Job, UnrecoverableError } from 'bullmq';
import pino from 'pino';
import { LogJob, LogStep, PermanentLogFailure } from '../calls/log';
import { parseConfig } from '../config/config.loader';
import { CallLogProcessor } from './call-log.processor';
import { JobName, LogCallJobData } from './queues';

/** The parts of a BullMQ job the adapter touches, recording what it did with them. */
class FakeJob {
  readonly id = 'log-c1-210';
  readonly opts = { attempts: 5 };
  attemptsStarted = 1;
  attemptsMade = 0;
  stalledCounter = 0;
  movedTo?: number;
  promoted = false;
  constructor(
    readonly name: JobName,
    public data: LogCallJobData,
  ) {}
  updateData(data: LogCallJobData) {
    this.data = data;
    return Promise.resolve();
  }
  moveToDelayed(at: number, token?: string) {
    if (token !== 'lock-token') throw new Error('moved without the worker token');
    this.movedTo = at;
    return Promise.resolve();
  }
  promote() {
    this.promoted = true;
    return Promise.resolve();
  }
}

function adapter(answer: (job: LogJob) => Promise<LogStep>, pausedNow?: { until: number; reason: string }) {
  const seen: LogJob[] = [];
  const held: string[] = [];
  const useCase = { run: (job: LogJob) => (seen.push(job), answer(job)) };
  const pauses = { hold: (c: string, id: string) => Promise.resolve(void held.push(`${c}|${id}`)), pausedUntil: () => Promise.resolve(pausedNow) };
  const processor = new CallLogProcessor(useCase, useCase, pauses, { callLog: { getJob: () => Promise.resolve(undefined) } }, { current: parseConfig('{}', 'test.yaml') }, pino({ level: 'silent' }));
  const job = new FakeJob(JobName.LogCall, { callId: 'c1', extension: '210', hangupAt: 1 });
  const run = () => processor.process(job as unknown as Job<LogCallJobData>, 'lock-token');
  return { job, run, seen, held };
}

describe(CallLogProcessor.name, () => {
  it('returns what the use case did with the call', async () => {
    const { run } = adapter(() => Promise.resolve({ status: 'logged', connection: 'crm' }));
    await expect(run()).resolves.toEqual({ status: 'logged', connection: 'crm' });
  });

  it('a delay moves the job to delayed with the worker token, which spends no attempt', async () => {
    const { job, run } = adapter(() => Promise.resolve({ postpone: 'delay', ms: 7000, why: 'crm rate limit' }));
    const before = Date.now();
    await expect(run()).rejects.toBeInstanceOf(DelayedError);
    expect(job.movedTo).toBeGreaterThanOrEqual(before + 7000);
    expect(job.movedTo).toBeLessThan(Date.now() + 7000 + 1000);
  });

  it('a job held for the wrap-up window is marked, so its next start is not taken for a retry', async () => {
    const { job, run, seen } = adapter(() => Promise.resolve({ postpone: 'delay', ms: 30_000, why: 'wrap-up window', heldForWrapUp: true }));
    await expect(run()).rejects.toBeInstanceOf(DelayedError);
    expect(job.data.heldForWrapUp).toBe(true);
    expect(seen[0].mayExist).toBe(false);

    job.attemptsStarted = 2;
    await expect(run()).rejects.toBeInstanceOf(DelayedError);
    expect(seen[1].mayExist).toBe(false);
    job.attemptsMade = 1;
    await expect(run()).rejects.toBeInstanceOf(DelayedError);
    expect(seen[2]).toMatchObject({ mayExist: true, attempt: 2, attempts: 5 });
  });

  it('a paused connection holds the job past the pause, and releases it at once when the pause is already over', async () => {
    const until = Date.now() + 60_000;
    const { job, run, held } = adapter(() => Promise.resolve({ postpone: 'pause', connection: 'crm', until, why: 'quota' }));
    await expect(run()).rejects.toBeInstanceOf(DelayedError);
    expect(held).toEqual(['crm|log-c1-210']);
    expect(job.movedTo).toBeGreaterThanOrEqual(until);
    expect(job.promoted).toBe(true);

    const stillPaused = adapter(() => Promise.resolve({ postpone: 'pause', connection: 'crm', until, why: 'quota' }), { until, reason: 'quota' });
    await expect(stillPaused.run()).rejects.toBeInstanceOf(DelayedError);
    expect(stillPaused.job.promoted).toBe(false);
  });

  it('a permanent CRM failure fails the job without retries', async () => {
    const { run } = adapter(() => Promise.reject(new PermanentLogFailure('crm: invalid owner')));
    const err = await run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect((err as Error).message).toBe('crm: invalid owner');
  });

  it('any other error is thrown as it is, for BullMQ to retry', async () => {
    const boom = new Error('Redis went away');
    const { run } = adapter(() => Promise.reject(boom));
    await expect(run()).rejects.toBe(boom);
  });
});
