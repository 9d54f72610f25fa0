import { TestApp } from '../support/test-app';

/**
 * Stops a second instance that shares another's Redis prefix: TestApp.close() would also delete
 * every key of the prefix, i.e. the first instance's queues and replay streams.
 */
export async function stopInstance(t: TestApp) {
  await t.app.close();
  t.redis.disconnect();
}
