import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { Logger } from 'pino';
import { Gauge } from 'prom-client';
import { CallUpdate, REPLAY_WINDOW_MS } from '../calls/call-update.publisher';
import { LOGGER } from '../config/config.tokens';
import { formatNumber } from '../crm/phone';
import { MappingService } from '../mappings/mapping.service';
import { MetricsService } from '../metrics/metrics.service';
import { RedisClient } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { AGENT_REPLAY_REDIS, UPDATE_SUBSCRIBER } from '../redis/redis.tokens';
import { UpdateSubscriber } from '../redis/update-subscriber';
import { AgentStream, compareIds, StreamEntry } from './agent-stream';

export const HEARTBEAT_MS = 15_000;
/** Replay is for a page that was away briefly; a bound keeps one reconnect from reading a flood. */
const MAX_REPLAY_PER_EXTENSION = 500;
const FORMAT_CACHE_SIZE = 5000;

/**
 * The process's one way in for call updates: a single Redis subscriber connection, subscribed to
 * the channels of the extensions that open pages watch (reference-counted: subscribed when the
 * first page for an extension opens, unsubscribed when the last closes), and the replay reads.
 * Each message is parsed and shaped for the page once, then offered to every stream watching.
 *
 * The subscriber (an UpdateSubscriber) is handed over again whenever it is replaced (on a Redis
 * Cluster, by a connection to another node when its node stays away); that connection's 'ready'
 * is a reconnect like any other: the channels are subscribed again and every page catches up from
 * the replay streams. RedisModule closes both connections on shutdown.
 */
@Injectable()
export class UpdateHub implements BeforeApplicationShutdown {
  private sub!: RedisClient;
  private readonly watchers = new Map<string, Set<AgentStream>>();
  /** The SUBSCRIBE in flight or done per channel: a second page for an extension waits for it too. */
  private readonly subscribed = new Map<string, Promise<unknown>>();
  private readonly streams = new Set<AgentStream>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly channelPrefix: string;
  private readonly gauge: Gauge;
  private connectedBefore = false;
  private readonly formatted = new Map<string, string>();

  constructor(
    private readonly keys: RedisKeys,
    private readonly mappings: MappingService,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
    @Inject(AGENT_REPLAY_REDIS) private readonly reader: RedisClient,
    @Inject(UPDATE_SUBSCRIBER) subscriber: UpdateSubscriber,
  ) {
    this.channelPrefix = keys.updatesChannelPrefix();
    subscriber.open((sub) => this.use(sub));
    this.heartbeat = setInterval(() => this.streams.forEach((s) => s.heartbeat()), HEARTBEAT_MS).unref();
    this.gauge = new Gauge({ name: 'vncc_agent_streams', help: 'Agent screen-pop pages connected to this instance', registers: [metrics.registry] });
  }

  get available(): boolean {
    return this.sub.status === 'ready';
  }

  /**
   * The subscriber re-subscribes itself after a reconnect, then has every page catch up from the
   * replay streams what was published while it was away (pub/sub does not keep messages).
   */
  private use(sub: RedisClient): void {
    this.sub = sub;
    sub.on('error', () => undefined);
    sub.on('ready', () => void this.resubscribe(sub));
    sub.on('message', (channel: string, message: string) => this.dispatch(channel, message));
  }

  /** Starts delivering the stream's extensions' updates to it; resolves once they are subscribed. */
  async add(stream: AgentStream): Promise<void> {
    this.streams.add(stream);
    this.gauge.set(this.streams.size);
    const waits: Promise<unknown>[] = [];
    for (const ext of stream.extensions) {
      let set = this.watchers.get(ext);
      if (!set) this.watchers.set(ext, (set = new Set()));
      set.add(stream);
      const channel = this.keys.updates(ext);
      let done = this.subscribed.get(channel);
      if (!done) {
        done = this.sub.subscribe(channel);
        this.subscribed.set(channel, done);
        done.catch(() => this.subscribed.delete(channel));
      }
      waits.push(done);
    }
    await Promise.all(waits);
  }

  remove(stream: AgentStream): void {
    if (!this.streams.delete(stream)) return;
    this.gauge.set(this.streams.size);
    const gone: string[] = [];
    for (const ext of stream.extensions) {
      const set = this.watchers.get(ext);
      set?.delete(stream);
      if (set?.size === 0) {
        this.watchers.delete(ext);
        const channel = this.keys.updates(ext);
        this.subscribed.delete(channel);
        gone.push(channel);
      }
    }
    // Commands on one connection run in order: a page that re-subscribes right after still gets its SUBSCRIBE last.
    if (gone.length) this.sub.unsubscribe(...gone).catch(() => undefined);
  }

  /** Updates of an extension after `after` and within the replay window, oldest first. */
  read = async (extension: string, after: string): Promise<StreamEntry[]> => {
    const windowStart = `${Date.now() - REPLAY_WINDOW_MS}-0`;
    const start = compareIds(after, windowStart) >= 0 ? `(${after}` : windowStart;
    const rows = (await this.reader.xrange(this.keys.updatesLog(extension), start, '+', 'COUNT', MAX_REPLAY_PER_EXTENSION)) as [string, string[]][];
    const entries: StreamEntry[] = [];
    for (const [id, fields] of rows) {
      const json = fields[fields.indexOf('u') + 1];
      const entry = json && this.entry(extension, id, json);
      if (entry) entries.push(entry);
    }
    return entries;
  };

  private dispatch(channel: string, message: string): void {
    const extension = channel.slice(this.channelPrefix.length);
    const watching = this.watchers.get(extension);
    if (!watching?.size) return;
    const entry = this.entry(extension, undefined, message);
    if (entry) for (const stream of watching) stream.offer(entry);
  }

  /** Parses an update and shapes it for the page (its number formatted for the extension's country), once for every page. */
  private entry(extension: string, id: string | undefined, json: string): StreamEntry | undefined {
    let update: CallUpdate;
    try {
      update = JSON.parse(json) as CallUpdate;
    } catch {
      this.log.warn({ event: 'agent.update.unreadable', extension }, 'an update on the channel is not JSON: dropped');
      return undefined;
    }
    const streamId = id ?? update.streamId;
    if (!streamId) return undefined;
    const country = this.mappings.resolve(extension).country;
    const display = { number: this.format(update.record.remoteNumber, country), did: this.format(update.record.callee.did, country) };
    return { extension, id: streamId, data: JSON.stringify({ ...update, streamId, display }) };
  }

  /**
   * libphonenumber costs ~50 µs a number, as much as the rest of an update's fan-out together; a
   * call's updates, a ring group's extensions and every call to one DID repeat the same numbers.
   */
  private format(number: string | undefined, country: string | undefined): string | undefined {
    if (!number) return number;
    const key = `${country ?? ''}:${number}`;
    let formatted = this.formatted.get(key);
    if (formatted === undefined) {
      formatted = formatNumber(number, country) ?? number;
      const oldest = this.formatted.size >= FORMAT_CACHE_SIZE ? this.formatted.keys().next() : undefined;
      if (oldest && !oldest.done) this.formatted.delete(oldest.value);
      this.formatted.set(key, formatted);
    }
    return formatted;
  }

  private async resubscribe(sub: RedisClient): Promise<void> {
    if (sub !== this.sub) return;
    if (!this.connectedBefore) {
      this.connectedBefore = true;
      return;
    }
    const channels = [...this.watchers.keys()].map((ext) => this.keys.updates(ext));
    try {
      if (channels.length) await sub.subscribe(...channels);
    } catch {
      return; // lost again: the next 'ready' tries again
    }
    this.log.info({ event: 'agent.resubscribed', pages: this.streams.size }, 'Redis subscriber back: pages catch up from the replay streams');
    for (const stream of this.streams) {
      stream.catchUp(this.read).catch(() => stream.close());
    }
  }

  /** Open pages are closed before the HTTP server stops (it waits for open responses); they reconnect elsewhere. */
  beforeApplicationShutdown() {
    clearInterval(this.heartbeat);
    for (const stream of [...this.streams]) stream.close();
  }
}
