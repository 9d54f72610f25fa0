/**
 * One agent page's Server-Sent Events stream. Every update carries its entry id in its
 * extension's replay stream (Redis Stream ids `ms-seq`, increasing per extension). The stream
 * keeps, per extension of the link, the id of the last update it sent (its cursor), and the SSE
 * `id:` of every message is that cursor for all the link's extensions, comma-separated in the
 * link's order. A page that reconnects sends it back (Last-Event-ID) and is replayed exactly
 * what comes after it; anything at or before the cursor is dropped, so a replayed update that
 * also arrives live is sent once.
 */
export interface StreamEntry {
  extension: string;
  /** Entry id in the extension's replay stream. */
  id: string;
  /** The SSE data line: the update as JSON (one line: JSON.stringify escapes newlines). */
  data: string;
}

export interface SseSink {
  write(chunk: string): boolean;
  /** Bytes queued in memory because the client reads slower than we write. */
  readonly writableLength: number;
  /** Ends the response: the page's EventSource reconnects (with its Last-Event-ID). */
  end(): void;
  destroy(): void;
}

/** A client that lets this much pile up is cut off; it reconnects and is replayed from its cursor. */
const MAX_BUFFERED_BYTES = 1 << 20;
const STREAM_ID = /^(\d{1,15})-(\d{1,15})$/;

export class AgentStream {
  private readonly cursor: string[];
  private catchingUp = false;
  private held: StreamEntry[] = [];
  private open = false;
  private sync: Promise<void> = Promise.resolve();

  constructor(
    readonly extensions: readonly string[],
    start: readonly string[],
    private readonly sink: SseSink,
  ) {
    this.cursor = [...start];
  }

  /** An update from pub/sub: held while a catch-up runs (it may hold older entries still to send). */
  offer(entry: StreamEntry): void {
    if (!this.open || this.catchingUp) this.held.push(entry);
    else this.deliver(entry);
  }

  /**
   * Sends what the replay stream holds after the cursor, then what arrived live meanwhile.
   * Called once the stream's channels are subscribed (so nothing falls between the two), and
   * again whenever the subscription was lost and restored. Runs one at a time.
   */
  catchUp(read: (extension: string, after: string) => Promise<StreamEntry[]>): Promise<void> {
    const run = this.sync.then(async () => {
      this.catchingUp = true;
      // On failure the stream stays "catching up" (nothing more is sent, so the cursor cannot jump
      // a gap): the caller closes it and the page reconnects from its cursor.
      const lists = await Promise.all(this.extensions.map((ext, i) => read(ext, this.cursor[i])));
      this.open = true;
      for (const entry of lists.flat().sort((a, b) => compareIds(a.id, b.id))) this.deliver(entry);
      const held = this.held;
      this.held = [];
      for (const entry of held) this.deliver(entry);
      this.catchingUp = false;
    });
    this.sync = run.catch(() => undefined);
    return run;
  }

  /** A named event that is not an update (ready): carries the cursor so it counts as a position. */
  event(name: string, data: unknown): void {
    this.write(`id: ${this.lastEventId()}\nevent: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** A comment line: keeps proxies from closing an idle stream. */
  heartbeat(): void {
    this.write(': hb\n\n');
  }

  close(): void {
    this.sink.end();
  }

  lastEventId(): string {
    return this.cursor.join(',');
  }

  private deliver(entry: StreamEntry): void {
    const i = this.extensions.indexOf(entry.extension);
    if (i < 0 || compareIds(entry.id, this.cursor[i]) <= 0) return;
    this.cursor[i] = entry.id;
    this.write(`id: ${this.lastEventId()}\nevent: update\ndata: ${entry.data}\n\n`);
  }

  private write(chunk: string): void {
    this.sink.write(chunk);
    if (this.sink.writableLength > MAX_BUFFERED_BYTES) this.sink.destroy();
  }
}

/**
 * The cursors a page sent back (Last-Event-ID), one per extension of its link; undefined when
 * it is not a cursor of this link (wrong count, not stream ids).
 */
export function parseLastEventId(value: string | undefined, extensions: readonly string[]): string[] | undefined {
  if (value === undefined) return undefined;
  const ids = value.split(',');
  if (ids.length !== extensions.length || !ids.every((id) => STREAM_ID.test(id))) return undefined;
  return ids;
}

export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am - bm || as - bs;
}
