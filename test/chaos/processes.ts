import { ChildProcess, fork } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect, createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../support/redis-server';
import { eventually, TEST_ADMIN_TOKEN, TEST_TOKEN } from '../support/test-app';
import { HS_TOKEN } from './support';

/**
 * The faults the chaos scenarios inflict from outside the connector: its processes, forked from
 * dist/ as they run in production (and SIGKILLed), and the CRM's address taken off the network.
 */
/** A connector process from the built `dist/main.js` (ROLE=api or worker), as it runs in production. */
export class ConnectorProcess {
  private output: string[] = [];
  readonly proc: ChildProcess;

  private constructor(
    readonly role: 'api' | 'worker',
    readonly port: number,
    env: Record<string, string>,
  ) {
    // Each API process spools to a temp directory of its own (never the repo's var/) unless the test names one.
    const spool = role === 'api' && !env.SPOOL_DIR ? { SPOOL_DIR: mkdtempSync(join(tmpdir(), 'vncc-chaos-spool-')) } : {};
    this.proc = fork(resolve(__dirname, '../../dist/main.js'), [], {
      env: { ...process.env, ROLE: role, PORT: String(port), HOST: '127.0.0.1', INGEST_TOKEN: TEST_TOKEN, ADMIN_TOKEN: TEST_ADMIN_TOKEN, LOG_LEVEL: 'warn', HS_TOKEN, ...spool, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    // Kept (bounded) so a failing test can say what the process said.
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 50) this.output.shift();
    };
    this.proc.stdout!.on('data', keep);
    this.proc.stderr!.on('data', keep);
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get lastOutput() {
    return this.output.join('');
  }

  /** Forks the process; `ready()` waits until an API process answers HTTP. */
  static async spawn(role: 'api' | 'worker', env: Record<string, string>): Promise<ConnectorProcess> {
    return new ConnectorProcess(role, role === 'api' ? await freePort() : 0, env);
  }

  async ready(): Promise<this> {
    if (this.role !== 'api') return this;
    await eventually(
      async () => {
        if (this.proc.exitCode !== null) throw new Error(`api process exited: ${this.lastOutput}`);
        return (await fetch(`${this.url}/health/live`)).ok ? true : undefined;
      },
      30_000,
      `the api process on :${this.port} to answer`,
    );
    return this;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill(signal);
    return exited;
  }
}

/**
 * Stands between the connector and a fake CRM: `down()` closes the listener and cuts every open
 * connection (the CRM's address refuses connections), `up()` listens again on the same port.
 */
export class CrmSwitch {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;
  /** Connections cut or refused while down are not counted here; those that got through are. */
  connections = 0;

  constructor(private readonly target: string) {}

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(): Promise<this> {
    const { hostname, port } = new URL(this.target);
    const server = createServer((client) => {
      this.connections += 1;
      const upstream = connect(Number(port), hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => r());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
    return this;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise((r) => server.close(r));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
