import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { eventually } from './test-app';
import { freePort } from './redis-server';

/** A redis-server (data node or sentinel) of the test's own, on 127.0.0.1. */
class Node {
  constructor(
    readonly port: number,
    readonly proc: ChildProcess,
  ) {}

  client(): Redis {
    const c = new Redis({ host: '127.0.0.1', port: this.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => undefined);
    return c;
  }

  /** Runs one command on a fresh connection (a probe must not ride a connection the fault broke). */
  async call(...args: string[]): Promise<unknown> {
    const c = this.client();
    try {
      await c.connect();
      return await c.call(args[0], ...args.slice(1));
    } finally {
      c.disconnect();
    }
  }

  kill(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill('SIGKILL');
    return exited;
  }
}

/** `SENTINEL MASTER <name>` answers a flat [field, value, ...] list. */
function fields(reply: unknown): Record<string, string> {
  const list = reply as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]] = list[i + 1];
  return out;
}

/**
 * A master, one replica and three sentinels (quorum 2), each its own process and files in `dir`:
 * the Sentinel setup docs/redis.md describes, small enough to start per test. The data nodes persist
 * with AOF `appendfsync everysec` (the production setting in docs/redis.md). Sentinels declare the master
 * down after `downAfterMs` without an answer.
 */
export class SentinelSetup {
  static readonly NAME = 'vncc-master';

  private constructor(
    readonly master: Node,
    readonly replica: Node,
    readonly sentinels: Node[],
  ) {}

  /** The REDIS_URL a connector is given: the sentinels and the master's name, never a data node. */
  get url(): string {
    return `redis+sentinel://${this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${SentinelSetup.NAME}`;
  }

  static async start(dir: string, opts: { downAfterMs?: number } = {}): Promise<SentinelSetup> {
    const dataNode = async (name: string, extra: string[]) => {
      const port = await freePort();
      const nodeDir = join(dir, name);
      mkdirSync(nodeDir, { recursive: true });
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', nodeDir, ...extra];
      return new Node(port, spawn('redis-server', args, { stdio: 'ignore' }));
    };
    const master = await dataNode('master', []);
    const replica = await dataNode('replica', ['--replicaof', '127.0.0.1', String(master.port)]);
    const sentinels: Node[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${i}.conf`);
      // Sentinel rewrites its config file as it learns (peers, epochs): each needs its own, writable.
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${SentinelSetup.NAME} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${SentinelSetup.NAME} ${opts.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${SentinelSetup.NAME} 5000`,
          `sentinel parallel-syncs ${SentinelSetup.NAME} 1`,
          '',
        ].join('\n'),
      );
      sentinels.push(new Node(port, spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' })));
    }
    const setup = new SentinelSetup(master, replica, sentinels);
    try {
      await setup.ready();
    } catch (err) {
      await setup.stop();
      throw err;
    }
    return setup;
  }

  /** Until the replica is in sync and every sentinel sees the master, its replica and both other sentinels. */
  private async ready(): Promise<void> {
    await eventually(async () => ((await this.replica.call('INFO', 'replication')) as string).includes('master_link_status:up') || undefined, 15_000, 'the replica to sync');
    await eventually(
      async () => {
        for (const s of this.sentinels) {
          const m = fields(await s.call('SENTINEL', 'MASTER', SentinelSetup.NAME));
          if (m['num-slaves'] !== '1' || m['num-other-sentinels'] !== '2' || m.flags !== 'master') return undefined;
        }
        return true;
      },
      20_000,
      'the sentinels to find the replica and each other',
    );
  }

  /** The port every sentinel names as the master's (undefined while they disagree). */
  async masterPort(): Promise<number | undefined> {
    const ports = new Set<string>();
    for (const s of this.sentinels) {
      const addr = (await s.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SentinelSetup.NAME).catch(() => null)) as string[] | null;
      ports.add(addr?.[1] ?? '?');
    }
    return ports.size === 1 && !ports.has('?') ? Number([...ports][0]) : undefined;
  }

  /** SIGKILLs the master: no shutdown, no last AOF fsync, no goodbye to the replica. */
  killMaster(): Promise<void> {
    return this.master.kill();
  }

  /** Until every sentinel names the replica as master and the replica says it is one. */
  async promoted(ms = 20_000): Promise<void> {
    await eventually(async () => ((await this.masterPort()) === this.replica.port ? true : undefined), ms, 'the sentinels to promote the replica');
    await eventually(async () => ((await this.replica.call('ROLE')) as string[])[0] === 'master' || undefined, ms, 'the replica to become master');
  }

  async stop(): Promise<void> {
    await Promise.all([this.master, this.replica, ...this.sentinels].map((n) => n.kill()));
  }
}
