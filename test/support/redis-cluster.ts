import { ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { eventually } from './test-app';
import { freePort } from './redis-server';

/** Whether this machine can run the cluster tests (CI installs both). */
export const HAVE_REDIS_CLUSTER_TOOLS = ['redis-server', 'redis-cli'].every((cmd) => spawnSync(cmd, ['--version']).status === 0);

/** One master of the test's cluster: its own process, port, cluster-bus port and files. */
class ClusterNode {
  proc?: ChildProcess;

  constructor(
    readonly port: number,
    readonly busPort: number,
    readonly dir: string,
    private readonly nodeTimeoutMs: number,
  ) {}

  /** (Re)starts the server on the same port and files: nodes.conf brings its slots back, the AOF its data. */
  start(): void {
    mkdirSync(this.dir, { recursive: true });
    // AOF with appendfsync always: a write the node acknowledged survives its SIGKILL, as in the
    // single-Redis restart scenario. No RDB snapshots.
    const args = [
      ...['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir],
      ...['--cluster-enabled', 'yes', '--cluster-port', String(this.busPort), '--cluster-config-file', 'nodes.conf'],
      ...['--cluster-node-timeout', String(this.nodeTimeoutMs)],
      ...['--save', '', '--appendonly', 'yes', '--appendfsync', 'always'],
    ];
    this.proc = spawn('redis-server', args, { stdio: 'ignore' });
  }

  /** Runs one command on a fresh connection (a probe must not ride a connection the fault broke). */
  async call(...args: string[]): Promise<unknown> {
    const c = new Redis({ host: '127.0.0.1', port: this.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return await c.call(args[0], ...args.slice(1));
    } finally {
      c.disconnect();
    }
  }

  async info(): Promise<Record<string, string>> {
    const text = (await this.call('CLUSTER', 'INFO')) as string;
    return Object.fromEntries(
      text
        .split(/\r?\n/)
        .filter(Boolean)
        .map((l) => l.split(':') as [string, string]),
    );
  }

  /** Keys matching `pattern` on this node (SCAN on a connection of the test's own). */
  async countKeys(pattern: string): Promise<number> {
    let n = 0;
    let cursor = '0';
    do {
      const [next, keys] = (await this.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000')) as [string, string[]];
      n += keys.length;
      cursor = next;
    } while (cursor !== '0');
    return n;
  }

  /** SIGKILL: no shutdown, no goodbye to the other nodes. */
  kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGKILL');
    return exited;
  }
}

/**
 * A Redis Cluster of `masters` masters and no replicas on 127.0.0.1, each node its own process and
 * directory under `dir`, created with `redis-cli --cluster create` as an operator would. Small
 * enough to start per test (~1 s).
 */
export class ClusterSetup {
  private constructor(readonly nodes: ClusterNode[]) {}

  /** The REDIS_URL a connector is given: every node (any one would do: ioredis reads the slot map from it). */
  get url(): string {
    return `redis+cluster://${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`;
  }

  static async start(dir: string, opts: { masters?: number; nodeTimeoutMs?: number } = {}): Promise<ClusterSetup> {
    const nodes: ClusterNode[] = [];
    for (let i = 0; i < (opts.masters ?? 3); i++) {
      // The bus port is set explicitly: the default, port + 10000, may be taken or out of range.
      nodes.push(new ClusterNode(await freePort(), await freePort(), join(dir, `node-${i}`), opts.nodeTimeoutMs ?? 1000));
    }
    const setup = new ClusterSetup(nodes);
    try {
      for (const n of nodes) n.start();
      for (const n of nodes) await eventually(async () => ((await n.call('PING')) === 'PONG' ? true : undefined), 10_000, `redis-server on ${n.port}`);
      const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
      await promisify(execFile)('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 20_000 });
      await setup.healthy();
    } catch (err) {
      await setup.stop();
      throw err;
    }
    return setup;
  }

  /** Until every node says the cluster is ok, knows every other node and sees all 16384 slots served. */
  async healthy(ms = 20_000): Promise<void> {
    await eventually(
      async () => {
        for (const n of this.nodes) {
          const i = await n.info();
          if (i.cluster_state !== 'ok' || Number(i.cluster_known_nodes) !== this.nodes.length || i.cluster_slots_ok !== '16384') return undefined;
        }
        return true;
      },
      ms,
      'the cluster to be ok on every node',
    );
  }

  /** The master serving `key`'s slot (from CLUSTER SLOTS as the first node sees it). */
  async ownerOf(key: string): Promise<ClusterNode> {
    const slot = (await this.nodes[0].call('CLUSTER', 'KEYSLOT', key)) as number;
    const ranges = (await this.nodes[0].call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    const node = this.nodes.find((n) => n.port === range?.[2][1]);
    if (!node) throw new Error(`no node serves slot ${slot}`);
    return node;
  }

  /** Until some node other than `down` reports the cluster failed (it has noticed `down` is gone). */
  async noticed(down: ClusterNode, ms = 15_000): Promise<void> {
    const others = this.nodes.filter((n) => n !== down);
    await eventually(async () => ((await others[0].info()).cluster_state === 'fail' ? true : undefined), ms, 'the cluster to mark the killed master failed');
  }

  /** How many masters hold keys matching `pattern`. */
  async mastersHolding(pattern: string): Promise<number> {
    let n = 0;
    for (const node of this.nodes) if ((await node.countKeys(pattern)) > 0) n += 1;
    return n;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
  }
}
