import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * Two connector instances on one Redis prefix, with the `file` CRM whose contacts.csv the caller
 * put in `dir`: `a` runs the API and the workers, `b` only the API, as a second instance behind a
 * load balancer (pops published through `a` must reach pages served by `b`).
 */
export async function startTwoInstances(dir: string, agentLinkSecret: string): Promise<{ a: TestApp; b: TestApp }> {
  writeFileSync(
    join(dir, 'connector.yaml'),
    `calls: { hangupSettleMs: 50, wrapUpWindowSeconds: 1 }
connections:
  demo: { type: file, contactsCsv: contacts.csv, callLogFile: calls.jsonl, country: US }
mappings:
  defaults: { connection: demo, country: US }
`,
  );
  const a = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), AGENT_LINK_SECRET: agentLinkSecret });
  const b = await startTestApp({ CONFIG_FILE: join(dir, 'connector.yaml'), AGENT_LINK_SECRET: agentLinkSecret, REDIS_PREFIX: a.prefix, ROLE: 'api' });
  return { a, b };
}

/**
 * Stops a second instance that shares another's Redis prefix: TestApp.close() would also delete
 * every key of the prefix, i.e. the first instance's queues and replay streams.
 */
export async function stopInstance(t: TestApp) {
  await t.app.close();
  t.redis.disconnect();
}
