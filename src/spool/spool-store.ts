import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, StatementSync } from 'node:sqlite';
import { CallEvent } from '../ingest/call-event';

export interface SpoolEntry {
  seq: number;
  event: CallEvent;
  bytes: number;
}

/** What opening the spool found on disk, for the start-up log line. */
export interface SpoolOpenReport {
  file: string;
  entries: number;
  /** Bytes at the end of the write-ahead log that hold no complete write: a write cut off mid-way (never acknowledged). */
  tornBytes: number;
  /** The file failed SQLite's check: it was moved aside (`damagedFile`) and what could be read was copied to a new spool. */
  damaged?: { damagedFile: string; recovered: number; unreadable: number; error: string };
}

const FILE = 'spool.db';
const WAL_HEADER_BYTES = 32;
const WAL_FRAME_HEADER_BYTES = 24;

/**
 * The spool's storage: one SQLite database (Node's built-in `node:sqlite`) per API instance, in
 * WAL mode with synchronous=FULL, so a commit returns only once its write-ahead log frames are
 * fsync'd. One table, entries in arrival order (`seq`). SQLite's own recovery handles a crash or
 * power loss mid-write (a torn commit has no valid commit frame and is dropped on open); this
 * class only reports what it dropped, and moves a file that fails SQLite's check aside.
 */
export class SpoolStore {
  private readonly insert: StatementSync;
  private readonly selectOldest: StatementSync;
  private readonly deleteOne: StatementSync;
  private count = 0;
  private bytes = 0;

  private constructor(
    private readonly db: DatabaseSync,
    readonly file: string,
  ) {
    this.insert = db.prepare('INSERT INTO entries (spooled_at, event) VALUES (?, ?)');
    this.selectOldest = db.prepare('SELECT seq, event FROM entries ORDER BY seq LIMIT ?');
    this.deleteOne = db.prepare('DELETE FROM entries WHERE seq = ?');
    // node:sqlite reads an INTEGER as a number, or as a bigint when it is told to (readBigInts): Number() takes either.
    const row = db.prepare('SELECT count(*) AS n, coalesce(sum(length(event)), 0) AS b FROM entries').get() as { n: number | bigint; b: number | bigint };
    this.count = Number(row.n);
    this.bytes = Number(row.b);
  }

  /**
   * Opens (creating it if need be) the spool in `dir`. Never throws for a damaged file: the file is
   * moved aside and its readable entries carried over; it throws only when no spool can be opened
   * at all (the directory cannot be written), which the caller reports.
   */
  static open(dir: string): { store: SpoolStore; report: SpoolOpenReport } {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, FILE);
    const walBytes = sizeOf(`${file}-wal`);
    const pageSize = walPageSize(`${file}-wal`);
    let damaged: SpoolOpenReport['damaged'];
    let tornBytes = 0;
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(file);
      // First thing, before anything else reads: SQLite recovers the log, and says how many frames it
      // kept (in normal locking mode: in exclusive mode this first checkpoint reports none).
      // (PASSIVE: TRUNCATE reports the log it leaves behind, none.)
      const { log: frames } = db.prepare('PRAGMA wal_checkpoint(PASSIVE)').get() as { log: number };
      db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get();
      if (walBytes > WAL_HEADER_BYTES && pageSize > 0) tornBytes = Math.max(0, walBytes - (WAL_HEADER_BYTES + Math.max(0, frames) * (WAL_FRAME_HEADER_BYTES + pageSize)));
      configure(db);
      const check = db.prepare('PRAGMA quick_check').get() as { quick_check: string };
      if (check.quick_check !== 'ok') throw new Error(`quick_check: ${check.quick_check}`);
    } catch (err) {
      // Closed first: it holds the file's lock, and the salvage reads the file through a connection of its own.
      if (db?.isOpen) db.close();
      // eslint-disable-next-line preserve-caught-error -- this message replaces SQLite's on purpose: it says what to do
      if (isBusy(err)) throw new Error(`${file} is in use by another process: give each API instance its own SPOOL_DIR`);
      let salvaged: DatabaseSync;
      ({ db: salvaged, damaged } = SpoolStore.salvage(file, (err as Error).message));
      db = salvaged;
    }
    const store = new SpoolStore(db, file);
    return { store, report: { file, entries: store.count, tornBytes, damaged } };
  }

  /** Moves a damaged file aside and copies every entry that can still be read into a new spool. */
  private static salvage(file: string, error: string): { db: DatabaseSync; damaged: NonNullable<SpoolOpenReport['damaged']> } {
    const damagedFile = `${file}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(file + suffix)) renameSync(file + suffix, damagedFile + suffix);
    const db = new DatabaseSync(file);
    configure(db);
    let recovered = 0;
    let unreadable = 0;
    try {
      // Read-write: a WAL-mode file cannot be opened read-only without its shared-memory file. Nothing is written to it.
      const old = new DatabaseSync(damagedFile);
      old.exec('PRAGMA query_only=1');
      try {
        const insert = db.prepare('INSERT INTO entries (seq, spooled_at, event) VALUES (?, ?, ?)');
        const one = old.prepare('SELECT seq, spooled_at, event FROM entries WHERE seq = ?');
        let max = 0;
        try {
          max = Number((old.prepare('SELECT max(seq) AS m FROM entries').get() as { m: number | bigint | null }).m ?? 0);
        } catch {
          max = 0; // the table's index itself is unreadable: nothing can be walked
        }
        db.exec('BEGIN');
        // Entry by entry: a page that cannot be read costs the entries on it, not the rest.
        for (let seq = 1; seq <= max; seq++) {
          try {
            const row = one.get(seq) as { seq: number; spooled_at: number; event: string } | undefined;
            if (!row) continue;
            JSON.parse(row.event);
            insert.run(row.seq, row.spooled_at, row.event);
            recovered++;
          } catch {
            unreadable++;
          }
        }
        db.exec('COMMIT');
      } finally {
        old.close();
      }
    } catch {
      // Not even a database: nothing to carry over.
    }
    return { db, damaged: { damagedFile, recovered, unreadable, error } };
  }

  get size() {
    return { entries: this.count, bytes: this.bytes };
  }

  /** Appends in one transaction: one fsync of the log for the whole batch (group commit). */
  append(events: CallEvent[], now: number): void {
    const rows = events.map((e) => JSON.stringify(e));
    this.db.exec('BEGIN');
    try {
      for (const row of rows) this.insert.run(now, row);
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
    this.count += rows.length;
    for (const row of rows) this.bytes += Buffer.byteLength(row);
  }

  oldest(limit: number): SpoolEntry[] {
    return (this.selectOldest.all(limit) as { seq: number | bigint; event: string }[]).map((r) => ({
      seq: Number(r.seq),
      event: JSON.parse(r.event) as CallEvent,
      bytes: Buffer.byteLength(r.event),
    }));
  }

  oldestSpooledAt(): number | undefined {
    const row = this.db.prepare('SELECT spooled_at AS at FROM entries ORDER BY seq LIMIT 1').get() as { at: number | bigint } | undefined;
    return row ? Number(row.at) : undefined;
  }

  /** Every event of the spool still waiting, for the caller's per-call index (without parsing the whole event twice). */
  *callsWaiting(): Generator<{ callId: string; extension: string }> {
    for (const r of this.db.prepare('SELECT event FROM entries ORDER BY seq').iterate() as Iterable<{ event: string }>) {
      const e = JSON.parse(r.event) as CallEvent;
      yield { callId: e.callId, extension: e.extension };
    }
  }

  remove(entries: SpoolEntry[]): void {
    if (entries.length === 0) return;
    this.db.exec('BEGIN');
    try {
      for (const e of entries) this.deleteOne.run(e.seq);
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
    this.count -= entries.length;
    for (const e of entries) this.bytes -= e.bytes;
  }

  /** Gives the space of replayed entries back to the file system once the spool is empty. */
  compact(): void {
    if (this.count > 0) return;
    this.db.exec('VACUUM');
    this.db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get();
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

/**
 * Exclusive locking (taken by the first write, held until close): a second process on the same
 * SPOOL_DIR is refused (SQLITE_BUSY) instead of sharing it. WAL with synchronous=FULL: a commit is
 * durable when it returns. journal_size_limit=0: the log is truncated when it restarts, so what
 * follows its last complete write can only be a torn one.
 */
function configure(db: DatabaseSync) {
  db.exec(`PRAGMA locking_mode=EXCLUSIVE;
    PRAGMA journal_mode=WAL;
    PRAGMA synchronous=FULL;
    PRAGMA journal_size_limit=0;
    CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY, spooled_at INTEGER NOT NULL, event TEXT NOT NULL);
    BEGIN EXCLUSIVE; COMMIT;`);
}

function isBusy(err: unknown): boolean {
  return /database is locked|SQLITE_BUSY/i.test(String((err as Error | undefined)?.message));
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The page size a write-ahead log was written with (bytes 8–11 of its header, big-endian); 0 when unreadable. */
function walPageSize(path: string): number {
  if (sizeOf(path) < WAL_HEADER_BYTES) return 0;
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(WAL_HEADER_BYTES);
    readSync(fd, header, 0, WAL_HEADER_BYTES, 0);
    return header.readUInt32BE(8);
  } finally {
    closeSync(fd);
  }
}
