import Redis from 'ioredis';
import { Logger } from 'pino';
import { clusterNodeOptions, ConnectionOptions, createRedis, isClusterUrl, RedisClient } from './redis-connection';
import { closeConnection } from './redis-connections';

/** On a Cluster, how often the subscriber reconnects to its node before it moves to the next one. */
const NODE_RETRIES = 3;
export const SUBSCRIBER_NAME = 'vncc-agent-updates';

/**
 * The connection UpdateHub subscribes to the agents' update channels on: a SUBSCRIBE-mode
 * connection runs nothing else, so it is its own. It does not re-subscribe by itself
 * (`autoResubscribe` off): the hub does, on every 'ready', and has its pages catch up.
 *
 * On a Redis Cluster it is a plain connection to one node of REDIS_URL's list (a PUBLISH reaches
 * the subscribers of every node), not the Cluster client's own subscriber, which moves to another
 * node without telling anyone. When its node stays away (a few quick reconnects fail), a
 * connection to the next node of the list replaces it and is handed to the hub like the first.
 */
export class UpdateSubscriber {
  private current?: RedisClient;
  /** Cluster only: the nodes the subscriber goes round, the options of a connection to one, the current one. */
  private readonly cluster?: { nodes: { host: string; port: number }[]; options: ConnectionOptions; at: number };
  private stopping = false;

  constructor(
    private readonly redisUrl: string,
    private readonly log: Logger,
  ) {
    if (isClusterUrl(redisUrl)) this.cluster = { ...clusterNodeOptions(redisUrl), at: 0 };
  }

  /** Opens the subscriber and hands it to `use`; on a Cluster, every replacement too. */
  open(use: (sub: RedisClient) => void): void {
    const sub = this.connect(use);
    this.current = sub;
    use(sub);
  }

  private connect(use: (sub: RedisClient) => void): RedisClient {
    if (!this.cluster) return createRedis(this.redisUrl, 'plain', { autoResubscribe: false, connectionName: SUBSCRIBER_NAME });
    const cluster = this.cluster;
    const { nodes, options, at } = cluster;
    const node = nodes[at];
    // A few quick reconnects to the same node (a dropped connection, a restart), then 'end'.
    const sub = new Redis({ ...options, ...node, autoResubscribe: false, connectionName: SUBSCRIBER_NAME, retryStrategy: (times) => (times > NODE_RETRIES ? null : times * 100) });
    sub.once('end', () => {
      if (this.stopping || this.current !== sub) return;
      cluster.at = (at + 1) % nodes.length;
      const next = nodes[cluster.at];
      this.log.warn(
        { event: 'agent.subscriber.moved', from: `${node.host}:${node.port}`, to: `${next.host}:${next.port}` },
        'Redis Cluster node of the update subscriber unreachable: subscribing on the next node of REDIS_URL',
      );
      this.open(use);
    });
    return sub;
  }

  /** Closes the subscriber; one that ends now is not replaced. */
  async close(): Promise<void> {
    this.stopping = true;
    if (this.current) await closeConnection(this.current);
  }
}
