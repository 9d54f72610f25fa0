/** A minimal EventSource over fetch, for tests that read the stream without a browser. */
export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

export interface SseConnection {
  status: number;
  headers: Headers;
  messages: SseMessage[];
  /** Comment lines (heartbeats) and `retry:` values seen. */
  comments: string[];
  retry?: number;
  closed: Promise<void>;
  body?: string;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const conn: SseConnection = { status: res.status, headers: res.headers, messages: [], comments: [], closed: Promise.resolve(), close: () => abort.abort() };
  if (res.status !== 200 || !res.body) {
    conn.body = await res.text();
    return conn;
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  conn.closed = (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const msg: SseMessage = { event: 'message', data: '' };
          let hasData = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) conn.comments.push(line.slice(1).trim());
            else if (line.startsWith('retry: ')) conn.retry = Number(line.slice(7));
            else if (line.startsWith('id: ')) msg.id = line.slice(4);
            else if (line.startsWith('event: ')) msg.event = line.slice(7);
            else if (line.startsWith('data: ')) {
              msg.data += line.slice(6);
              hasData = true;
            }
          }
          if (hasData) conn.messages.push(msg);
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return conn;
}

export const updatesOf = (conn: SseConnection) => conn.messages.filter((m) => m.event === 'update').map((m) => ({ id: m.id, ...JSON.parse(m.data) }));
