import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_ENV } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { EventType } from '../ingest/call-event';
import { redisOptions } from '../queue/redis';
import { CallRecord } from './call-record';
import { CrmMatch } from '../crm/crm-provider';

/** What the agent's page receives for every event of a call on its extension. */
export interface CallUpdate {
  event: EventType;
  record: CallRecord;
  publishedAt: number;
  /** CRM lookup of the remote number: pending while it runs past the pop's time budget. */
  lookup?: {
    status: 'pending' | 'done' | 'timeout' | 'error' | 'skipped';
    /** Why it was skipped or failed (internal call, unmapped extension, CRM error kind). */
    reason?: string;
    connection?: string;
    matches: CrmMatch[];
    newContactUrl?: string;
  };
  /** The CRM activity the call was logged as, once it exists. */
  activity?: { connection: string; id: string; url?: string };
}

/**
 * Fans call updates out through Redis pub/sub, one channel per extension, so whichever instance
 * holds an agent's page stream receives the update whichever worker produced it.
 */
@Injectable()
export class CallUpdatePublisher implements OnApplicationShutdown {
  private readonly redis: Redis;

  constructor(@Inject(APP_ENV) private readonly env: AppEnv) {
    this.redis = new Redis({ ...redisOptions(env.redisUrl), connectionName: 'vncc-publisher' });
    this.redis.on('error', () => undefined);
  }

  channel(extension: string): string {
    return `${this.env.redisPrefix}:updates:${extension}`;
  }

  async publish(update: CallUpdate): Promise<void> {
    const { record } = update;
    await this.redis.publish(this.channel(record.extension), JSON.stringify(update));
  }

  async onApplicationShutdown() {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
