// Durable-append rate of the two embedded stores the ingest spool could be built on: Node's
// built-in SQLite (`node:sqlite`, WAL, synchronous=FULL) and LMDB (the `lmdb` npm package, synced
// commits). Each append is a ~600-byte event; it counts only once the store says it is on disk.
//
//   npx node bench/spool-stores.mjs                      (SQLite only, unless lmdb can be loaded)
//   npm install --no-save lmdb && npx node bench/spool-stores.mjs
//   LMDB_FROM=/some/dir/node_modules npx node bench/spool-stores.mjs   (lmdb installed elsewhere)
//   BENCH_SECONDS=4 BENCH_DIR=/var/lib/x npx node bench/spool-stores.mjs  (the disk the spool will live on)
//
// Two shapes per store, each for BENCH_SECONDS, in a fresh directory:
//   one at a time: append, wait until durable, next (one sync per event: the worst case);
//   bursts of 50:  50 appends at once, wait until all are durable (one commit per burst: what a
//                  burst of VoipNow events costs with group commit).
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const base = process.env.BENCH_DIR ?? tmpdir();
const event = JSON.stringify({
  id: 'dial-in-1764600000.12345-0003x210',
  type: 'dial-in',
  callId: '1764600000.12345',
  flow: 'IN',
  status: 'CALLING',
  extension: '0003*210',
  organisation: '0003',
  callerNumber: '0015551234567',
  callerName: 'Jane Roe',
  calledNumber: '0003*210',
  calledDid: '15557654321',
  calledExtension: '0003*210',
  extra: { CallAPIID: '5e0d8c2a-6a4d-4b7e-9d52-0b8c6e1f2a3b', Queue: 'support', Campaign: 'winter' },
  receivedAt: Date.now(),
  padding: 'x'.repeat(200),
});

async function measure(name, append, burst) {
  const until = performance.now() + seconds * 1000;
  let n = 0;
  const lat = [];
  while (performance.now() < until) {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: burst }, () => append()));
    lat.push(performance.now() - t0);
    n += burst;
  }
  const elapsed = seconds;
  lat.sort((a, b) => a - b);
  const p = (q) => lat[Math.min(lat.length - 1, Math.ceil(q * lat.length) - 1)].toFixed(2);
  const row = { store: name, shape: burst === 1 ? 'one at a time' : `bursts of ${burst}`, appendsPerSecond: Math.round(n / elapsed), commitMsP50: p(0.5), commitMsP99: p(0.99) };
  console.log(JSON.stringify(row));
  return row;
}

/** As src/spool/spool-store.ts opens it; appends made in the same tick commit in one transaction. */
function sqliteStore(dir) {
  const db = new DatabaseSync(join(dir, 'spool.db'));
  db.exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA locking_mode=EXCLUSIVE;');
  db.exec('CREATE TABLE entries (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, event TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO entries (id, event) VALUES (?, ?)');
  let pending = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    db.exec('BEGIN');
    for (const p of batch) insert.run('id', event);
    db.exec('COMMIT');
    for (const p of batch) p();
  };
  return {
    append: () =>
      new Promise((resolve) => {
        if (pending.length === 0) setImmediate(flush);
        pending.push(resolve);
      }),
    close: () => db.close(),
  };
}

function lmdbStore(dir, lmdb) {
  // Synced commits (noSync false, the default); lmdb-js batches the puts of one tick into one transaction itself.
  const db = lmdb.open({ path: join(dir, 'spool.lmdb'), compression: false, noSync: false });
  let key = 0;
  return { append: () => db.put(++key, event), close: () => db.close() };
}

function loadLmdb() {
  try {
    const from = process.env.LMDB_FROM ? join(process.env.LMDB_FROM, 'x.js') : import.meta.url;
    return createRequire(from)('lmdb');
  } catch (err) {
    return undefined;
  }
}

const rows = [];
for (const [name, make] of [
  ['node:sqlite', sqliteStore],
  ['lmdb', (dir) => (loadLmdb() ? lmdbStore(dir, loadLmdb()) : undefined)],
]) {
  for (const burst of [1, 50]) {
    const dir = mkdtempSync(join(base, 'vncc-spool-bench-'));
    const store = make(dir);
    if (!store) {
      console.log(`lmdb not loadable: install it with "npm install --no-save lmdb" (or set LMDB_FROM) to compare`);
      rmSync(dir, { recursive: true, force: true });
      break;
    }
    rows.push(await measure(name, store.append, burst));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
console.table(rows);
