import { createServer, IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * The HTTP core of the fake CRMs: a real server on 127.0.0.1 that the real SDKs talk to, with a
 * request log and fault injection (status, body, headers, dropped connections, latency, and
 * "afterCommit" faults where the operation happens but the reply is lost).
 */
export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: any;
  at: number;
  /** The status answered (0: connection dropped), once answered. */
  status?: number;
}

export interface FakeResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Fault {
  /** Which requests it applies to: a predicate, or method and/or a path substring. */
  match?: (req: FakeRequest) => boolean;
  method?: string;
  pathIncludes?: string;
  /** How many matching requests it affects. */
  times?: number;
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Destroy the socket instead of answering. */
  drop?: boolean;
  delayMs?: number;
  /** With delayMs: after the delay, answer as usual (a slow CRM rather than a failing one). */
  slowOnly?: boolean;
  /** Perform the real operation first, then fail or drop the reply. */
  afterCommit?: boolean;
}

export type Handler = (req: FakeRequest) => FakeResponse | Promise<FakeResponse>;

export class FakeServer {
  readonly requests: FakeRequest[] = [];
  private faults: (Fault & { left: number })[] = [];
  private server?: Server;
  /** Pending latency and delay waits: close() clears them, so a test that stops waiting for a slow answer does not keep the process (its jest worker) alive until the fake would have answered. */
  private readonly waits = new Set<NodeJS.Timeout>();
  latencyMs = 0;
  url = '';

  constructor(
    private readonly handler: Handler,
    /** Checked before the handler (auth, rate limits): a response here short-circuits. */
    private readonly gate: (req: FakeRequest) => FakeResponse | undefined = () => undefined,
  ) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const timer of this.waits) clearTimeout(timer);
    this.waits.clear();
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  inject(fault: Fault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  clearFaults(): void {
    this.faults = [];
  }

  count(method: string, pathIncludes: string): number {
    return this.requests.filter((r) => r.method === method && r.path.includes(pathIncludes)).length;
  }

  private async serve(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://fake');
    const raw = await new Promise<string>((resolve) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += String(c)));
      req.on('end', () => resolve(data));
    });
    const type = req.headers['content-type'] ?? '';
    let body: unknown = raw;
    if (raw && type.includes('json')) body = safeJson(raw);
    else if (raw && type.includes('x-www-form-urlencoded')) body = Object.fromEntries(new URLSearchParams(raw));
    const request: FakeRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body, at: Date.now() };
    this.requests.push(request);
    if (this.latencyMs) await this.wait(this.latencyMs);

    const fault = this.faults.find((f) => f.left > 0 && (f.match ? f.match(request) : (!f.method || f.method === request.method) && (!f.pathIncludes || request.path.includes(f.pathIncludes))));
    if (fault) fault.left -= 1;
    if (fault?.delayMs) await this.wait(fault.delayMs);
    if (fault && !fault.afterCommit && !fault.slowOnly) {
      this.fail(res, fault, request);
      return;
    }

    let response: FakeResponse;
    try {
      response = this.gate(request) ?? (await this.handler(request));
    } catch (err) {
      response = { status: 500, body: { message: (err as Error).message } };
    }
    if (fault?.afterCommit && !fault.slowOnly) {
      this.fail(res, fault, request);
      return;
    }
    request.status = response.status;
    this.send(res, response);
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waits.delete(timer);
        resolve();
      }, ms);
      this.waits.add(timer);
    });
  }

  private fail(res: ServerResponse, fault: Fault, request: FakeRequest) {
    request.status = fault.drop || fault.status === undefined ? 0 : fault.status;
    if (fault.drop || fault.status === undefined) {
      res.socket?.destroy();
      return;
    }
    this.send(res, { status: fault.status, body: fault.body ?? { message: 'injected fault' }, headers: fault.headers });
  }

  private send(res: ServerResponse, response: FakeResponse) {
    const text = response.body === undefined ? '' : JSON.stringify(response.body);
    res.writeHead(response.status, { 'content-type': 'application/json;charset=UTF-8', ...response.headers });
    res.end(text);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Digits of a phone number: what CRMs compare when they match numbers. */
export function digitsOf(value: unknown): string {
  return String(value ?? '').replace(/\D/g, '');
}
