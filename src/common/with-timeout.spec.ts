import { TimeoutError, withTimeout } from './with-timeout';

describe(withTimeout.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('settles as the work does, and leaves no timer behind', async () => {
    await expect(withTimeout(Promise.resolve(42), 1000)).resolves.toBe(42);
    await expect(withTimeout(() => Promise.resolve('ok'), 1000)).resolves.toBe('ok');
    const boom = new Error('boom');
    await expect(withTimeout(Promise.reject(boom), 1000)).rejects.toBe(boom);
    await expect(
      withTimeout(() => {
        throw boom;
      }, 1000),
    ).rejects.toBe(boom);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('rejects with a TimeoutError naming the budget (and who did not answer) when the work takes longer', async () => {
    const slow = withTimeout(new Promise(() => undefined), 750);
    const redis = withTimeout(new Promise(() => undefined), 750, { subject: 'Redis' });
    jest.advanceTimersByTime(750);
    const err = (await slow.catch((e: unknown) => e)) as TimeoutError;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ name: 'TimeoutError', ms: 750, message: 'no answer within 750 ms' });
    await expect(redis).rejects.toMatchObject({ name: 'TimeoutError', message: 'Redis did not answer within 750 ms' });
    expect(jest.getTimerCount()).toBe(0);
  });

  it('drops a late answer or failure of work it stopped waiting for', async () => {
    let fail!: (err: Error) => void;
    const late = new Promise<never>((_, reject) => (fail = reject));
    const waiting = withTimeout(late, 10);
    jest.advanceTimersByTime(10);
    await expect(waiting).rejects.toBeInstanceOf(TimeoutError);
    // Would be an unhandled rejection (and fail the run) if nobody listened to it any more.
    fail(new Error('late'));
    await Promise.resolve();
  });

  it('stops waiting when the signal aborts, with the same TimeoutError, and removes its timer and listener', async () => {
    const controller = new AbortController();
    const remove = jest.spyOn(controller.signal, 'removeEventListener');
    const waiting = withTimeout(new Promise(() => undefined), 10_000, { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'TimeoutError', message: 'no answer within 10000 ms' });
    expect(jest.getTimerCount()).toBe(0);
    expect(remove).toHaveBeenCalledWith('abort', expect.any(Function));
  });

  it('does not start work given as a function when the signal has already aborted', async () => {
    const work = jest.fn(() => Promise.resolve(1));
    await expect(withTimeout(work, 1000, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(TimeoutError);
    expect(work).not.toHaveBeenCalled();
    // A promise given is already running: its late failure is not left unhandled.
    await expect(withTimeout(Promise.reject(new Error('late')), 1000, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(TimeoutError);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('removes its abort listener once the work settles, so a long-lived signal does not collect them', async () => {
    const controller = new AbortController();
    const remove = jest.spyOn(controller.signal, 'removeEventListener');
    await withTimeout(Promise.resolve(1), 1000, { signal: controller.signal });
    await withTimeout(() => Promise.resolve(2), 1000, { signal: controller.signal });
    expect(remove).toHaveBeenCalledTimes(2);
  });
});
