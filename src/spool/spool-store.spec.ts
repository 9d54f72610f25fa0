import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallEvent } from '../ingest/call-event';
import { SpoolStore } from './spool-store';

function event(i: number): CallEvent {
  return { id: `dial-in-c${i}-210`, type: 'dial-in', callId: `c${i}`, flow: 'IN', extension: '210', extra: { note: 'x'.repeat(200) }, receivedAt: 1_700_000_000_000 + i };
}

describe(SpoolStore.name, () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vncc-spool-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps entries in arrival order across a reopen, and removes what was replayed', () => {
    const first = SpoolStore.open(dir).store;
    first.append([event(1), event(2)], 1);
    first.append([event(3)], 2);
    first.close();
    const { store, report } = SpoolStore.open(dir);
    expect(report).toMatchObject({ entries: 3, tornBytes: 0 });
    const oldest = store.oldest(2);
    expect(oldest.map((e) => e.event.callId)).toEqual(['c1', 'c2']);
    store.remove(oldest);
    expect(store.oldest(10).map((e) => e.event.callId)).toEqual(['c3']);
    expect(store.size.entries).toBe(1);
    store.close();
  });

  it('a file that fails its check does not stop the start: moved aside, readable entries carried over, the loss counted', () => {
    const first = SpoolStore.open(dir).store;
    for (let i = 1; i <= 400; i++) first.append([event(i)], i);
    first.close();
    // Garbage over one page in the middle of the table (pages are 4 KiB): the entries on it are gone.
    const file = join(dir, 'spool.db');
    const bytes = readFileSync(file);
    bytes.fill(0xab, 10 * 4096 + 200, 11 * 4096);
    writeFileSync(file, bytes);

    const { store, report } = SpoolStore.open(dir);
    expect(report.damaged).toBeDefined();
    const { recovered, unreadable, damagedFile } = report.damaged!;
    expect(recovered).toBeGreaterThan(300);
    expect(recovered + unreadable).toBeLessThanOrEqual(400);
    expect(store.size.entries).toBe(recovered);
    expect(readdirSync(dir)).toContain(damagedFile.slice(dir.length + 1));
    // The new spool takes appends as usual.
    store.append([event(401)], 401);
    expect(store.size.entries).toBe(recovered + 1);
    store.close();
  });

  it('a file that is not a database at all: an empty new spool, the old file kept for inspection', () => {
    writeFileSync(join(dir, 'spool.db'), 'truncated');
    const { store, report } = SpoolStore.open(dir);
    expect(report.damaged).toMatchObject({ recovered: 0 });
    expect(store.size.entries).toBe(0);
    store.close();
  });

  it('refuses a second opener of the same directory with a message that says what to do', () => {
    const { store } = SpoolStore.open(dir);
    try {
      expect(() => SpoolStore.open(dir)).toThrow(/in use by another process: give each API instance its own SPOOL_DIR/);
    } finally {
      store.close();
    }
  });
});
