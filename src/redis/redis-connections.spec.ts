import { AppEnv } from '../config/env';
import { RedisConnections } from './redis-connections';

describe(RedisConnections.name, () => {
  it('closes every connection it opened; one that is away is dropped at once, not left to wait for a reconnect', async () => {
    // Nothing listens on port 1: the connections keep reconnecting, never ready.
    const connections = new RedisConnections({ redisUrl: 'redis://127.0.0.1:1' } as AppEnv);
    const opened = [connections.open('plain', 'vncc-test-plain'), connections.open('fail-fast', 'vncc-test-fail-fast')];
    let extra = false;
    connections.onClose(async () => {
      extra = true;
    });
    const ended = Promise.all(opened.map((c) => new Promise((resolve) => c.once('end', resolve))));
    const started = Date.now();
    await connections.closeAll();
    await ended;
    expect(Date.now() - started).toBeLessThan(500);
    expect(extra).toBe(true);
  });
});
