import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import Redis from 'ioredis';

/** A throwaway redis-server of the test's own, so a test can stop Redis without disturbing the others. */
export class OwnRedis {
  private proc?: ChildProcess;
  /** `aofDir`: persist with AOF (appendfsync always) there, so a killed and restarted Redis keeps every acknowledged write. */
  constructor(
    readonly port: number,
    private readonly aofDir?: string,
  ) {}

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(opts: { aofDir?: string } = {}): Promise<OwnRedis> {
    const r = new OwnRedis(await freePort(), opts.aofDir);
    await r.start();
    return r;
  }

  async start(): Promise<void> {
    const persistence = this.aofDir ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.aofDir] : ['--appendonly', 'no'];
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence], { stdio: 'ignore' });
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    for (let i = 0; i < 100; i++) {
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
