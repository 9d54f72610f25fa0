import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallUpdatePublisher } from '../../src/calls/call-update.publisher';
import { signAgentToken } from '../../src/screen-pop/agent-token';
import { openSse, SseConnection, updatesOf } from '../screen-pop/sse-client';
import { ClusterSetup, HAVE_REDIS_CLUSTER_TOOLS } from '../support/redis-cluster';
import { eventually, newCallId, sendEvent, startTestApp } from '../support/test-app';
import { CALLER, fileCrmConfig } from './support';

const SECRET = 'agent-link-secret-for-tests-0123456789';
const EXT = '0003*510';
type ClusterNode = ClusterSetup['nodes'][number];

/**
 * Blocks this process's event loop, where the connector runs: while it lasts the connector can
 * neither notice a lost connection nor open another, so an update published just before is
 * certain to fall into the gap (without it, the race is up to the scheduler).
 */
const freeze = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** The connections on `node` named like the hub's subscriber that are subscribed to something (CLIENT LIST: name=, sub=). */
async function subscriberIds(node: ClusterNode): Promise<string[]> {
  const list = (await node.call('CLIENT', 'LIST')) as string;
  return list
    .split('\n')
    .map((line) => Object.fromEntries(line.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])))
    .filter((c) => c.name?.includes('vncc-agent-updates') && Number(c.sub) > 0)
    .map((c) => c.id);
}

/** The one node holding the hub's subscriber, and that connection's id there. */
async function hubSubscriber(cluster: ClusterSetup): Promise<{ node: ClusterNode; id: string }> {
  return eventually(
    async () => {
      const found: { node: ClusterNode; id: string }[] = [];
      for (const node of cluster.nodes) for (const id of await subscriberIds(node).catch(() => [])) found.push({ node, id });
      return found.length === 1 ? found[0] : undefined;
    },
    10_000,
    'exactly one subscriber connection of the hub',
  );
}

if (!HAVE_REDIS_CLUSTER_TOOLS) {
  process.stderr.write('Chaos: Redis Cluster pub/sub skipped: redis-server and redis-cli are needed on the PATH (apt-get install redis-server)\n');
}

/**
 * An agent page on a connector whose REDIS_URL is a Cluster (3 masters, no replicas). Its updates
 * come through the hub's one subscriber connection; pub/sub keeps nothing for a subscriber that
 * is away. The subscriber's connection is killed (CLIENT KILL), then its node is SIGKILLed, each
 * time with an update published while it is away: the page gets each exactly once (from the replay
 * stream), and live updates after. The node timeout is long so that the cluster stays up without
 * the killed node (it holds none of the connector's keys).
 */
(HAVE_REDIS_CLUSTER_TOOLS ? describe : describe.skip)('Chaos: Redis Cluster, agent page updates', () => {
  it("the subscriber's connection killed, then its node: updates published meanwhile reach the open page, once each", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vncc-chaos-cluster-pubsub-'));
    let cluster: ClusterSetup | undefined;
    let t: Awaited<ReturnType<typeof startTestApp>> | undefined;
    let page: SseConnection | undefined;
    try {
      cluster = await ClusterSetup.start(dir, { nodeTimeoutMs: 60_000 });
      const prefix = `{t${randomBytes(4).toString('hex')}}`;
      const owner = await cluster.ownerOf(`${prefix}:anything`);
      // The owner of the connector's slot last: the subscriber starts on the first node, which is SIGKILLed below.
      const order = [...cluster.nodes.filter((n) => n !== owner), owner];
      const url = `redis+cluster://${order.map((n) => `127.0.0.1:${n.port}`).join(',')}`;
      t = await startTestApp({ REDIS_URL: url, REDIS_PREFIX: prefix, CONFIG_FILE: fileCrmConfig(dir), AGENT_LINK_SECRET: SECRET });
      const publisher = t.app.get(CallUpdatePublisher);

      // Answered 503 until the hub's subscriber is connected, which start-up does not wait for: the page retries, as a browser's does.
      const streamUrl = `${t.url}/agent/stream?token=${signAgentToken(SECRET, [EXT]).token}`;
      page = await eventually(
        async () => {
          const c = await openSse(streamUrl);
          if (c.status === 200) return c;
          c.close();
          return undefined;
        },
        10_000,
        "the page's stream to open",
      );
      await eventually(() => page!.messages.find((m) => m.event === 'ready'), 10_000, 'the ready event');
      const dialIn = async (callId: string) => {
        await sendEvent(t!.url, 'dial-in', { CallID: callId, CallerIDNum: CALLER, CalledExtension: EXT, CallFlow: 'IN', CallStatus: 'CALLING' });
        return eventually(() => updatesOf(page!).find((u) => u.record.callId === callId), 10_000, `the pop of ${callId}`);
      };
      const first = await dialIn(newCallId()); // also loads the publish script on the slot's master
      const copy = (callId: string) => {
        const update = { ...first, record: { ...first.record, callId } };
        delete update.id;
        delete update.streamId;
        delete update.display;
        return update;
      };

      // 1. The subscriber's connection is cut; its node stays.
      const before = await hubSubscriber(cluster);
      await before.node.call('CLIENT', 'KILL', 'ID', before.id);
      const whileCut = `${first.record.callId}-while-cut`;
      const published = publisher.publish(copy(whileCut)); // sent now, before the connector can resubscribe
      freeze(500);
      expect(await published).toMatch(/^\d+-\d+$/);
      await eventually(() => updatesOf(page!).find((u) => u.record.callId === whileCut), 10_000, 'the update published while the connection was cut');
      const afterCut = newCallId();
      await dialIn(afterCut);

      // 2. The subscriber's node is gone: the subscriber moves to another node of REDIS_URL.
      const at = await hubSubscriber(cluster);
      expect(at.node).not.toBe(owner);
      await at.node.kill(); // its slots stay assigned: the long node timeout keeps the cluster up
      const whileMoving = `${first.record.callId}-while-moving`;
      const publishedMoving = publisher.publish(copy(whileMoving));
      freeze(500);
      expect(await publishedMoving).toMatch(/^\d+-\d+$/);
      await eventually(() => updatesOf(page!).find((u) => u.record.callId === whileMoving), 15_000, 'the update published while the subscriber moved');
      const moved = await hubSubscriber(cluster);
      expect(moved.node).not.toBe(at.node);
      const afterMove = newCallId();
      await dialIn(afterMove);

      // Each once, in order; the page stayed connected throughout.
      expect(updatesOf(page).map((u) => u.record.callId)).toEqual([first.record.callId, whileCut, afterCut, whileMoving, afterMove]);
      expect(page.messages.filter((m) => m.event === 'ready')).toHaveLength(1);
      // Back before the connector stops (with a master away, its shutdown takes seconds longer).
      at.node.start();
      await cluster.healthy();
    } finally {
      await t?.close(); // ends the page's stream (a page aborted first held the shutdown up for seconds)
      page?.close();
      await cluster?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
