import { AgentStream, compareIds, parseLastEventId, SseSink, StreamEntry } from './agent-stream';

function sink() {
  const chunks: string[] = [];
  const s: SseSink & { chunks: string[]; ended: boolean } = {
    chunks,
    ended: false,
    write: (c) => (chunks.push(c), true),
    writableLength: 0,
    end: () => (s.ended = true),
    destroy: () => (s.ended = true),
  };
  return s;
}
const entry = (extension: string, id: string): StreamEntry => ({ extension, id, data: JSON.stringify({ id }) });
const sentIds = (chunks: string[]) => chunks.filter((c) => c.includes('event: update')).map((c) => JSON.parse(c.split('data: ')[1]).id);
const cursors = (chunks: string[]) => chunks.filter((c) => c.startsWith('id: ')).map((c) => c.split('\n')[0].slice(4));

describe(AgentStream.name, () => {
  it('replays after the cursor, then live updates held during the catch-up, each once and in order', async () => {
    const out = sink();
    const stream = new AgentStream(['a', 'b'], ['5-0', '0-0'], out);
    stream.offer(entry('a', '7-0')); // arrives live before the catch-up even starts
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const store: Record<string, StreamEntry[]> = { a: [entry('a', '4-0'), entry('a', '6-0'), entry('a', '7-0')], b: [entry('b', '6-1')] };
    const done = stream.catchUp(async (ext, after) => {
      await gate;
      return store[ext].filter((e) => compareIds(e.id, after) > 0);
    });
    stream.offer(entry('a', '8-0')); // live during the catch-up: must wait behind 6-0 and 7-0
    release();
    await done;
    stream.offer(entry('a', '8-0')); // a duplicate delivery
    stream.offer(entry('b', '9-0'));
    stream.offer(entry('c', '10-0')); // not this stream's extension
    expect(sentIds(out.chunks)).toEqual(['6-0', '6-1', '7-0', '8-0', '9-0']);
    expect(cursors(out.chunks).at(-1)).toBe('8-0,9-0');
    expect(stream.lastEventId()).toBe('8-0,9-0');
  });

  it('a failed catch-up sends nothing more, so the cursor never jumps over what it could not read', async () => {
    const out = sink();
    const stream = new AgentStream(['a'], ['1-0'], out);
    await stream.catchUp(async () => [entry('a', '2-0')]);
    await expect(stream.catchUp(async () => Promise.reject(new Error('redis down')))).rejects.toThrow('redis down');
    stream.offer(entry('a', '5-0'));
    expect(sentIds(out.chunks)).toEqual(['2-0']);
  });

  it('cuts off a client that stops reading', () => {
    const out = sink();
    let destroyed = false;
    const slow: SseSink = { ...out, writableLength: 2 << 20, destroy: () => (destroyed = true) };
    new AgentStream(['a'], ['0-0'], slow).heartbeat();
    expect(destroyed).toBe(true);
  });

  it('reads a Last-Event-ID only when it is a cursor of this link', () => {
    expect(parseLastEventId('1-0,2-3', ['a', 'b'])).toEqual(['1-0', '2-3']);
    expect(parseLastEventId('1-0', ['a', 'b'])).toBeUndefined();
    expect(parseLastEventId('1-0,x', ['a', 'b'])).toBeUndefined();
    expect(parseLastEventId(undefined, ['a'])).toBeUndefined();
    expect(compareIds('10-0', '9-5')).toBeGreaterThan(0);
    expect(compareIds('9-5', '9-10')).toBeLessThan(0);
  });
});
