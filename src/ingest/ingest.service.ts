import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { Logger } from 'pino';
import { ConnectorConfig } from '../config/config.schema';
import { APP_ENV, CONNECTOR_CONFIG, LOGGER } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { maskNumber, withoutRedaction } from '../logging/logger';
import { EventQueueService } from '../queue/event-queue.service';
import { EVENT_TYPES, isEventType, parseCallEvent } from './call-event';

export class EventNotDurableError extends Error {}

export interface Accepted {
  accepted: true;
  id: string;
  ignoredParameters?: string[];
}

/** How long the request path may wait on Redis before answering 503 instead. */
const REDIS_BUDGET_MS = 750;

@Injectable()
export class IngestService {
  /** For the accepted line only: every field of it is an identifier, a constant or a masked number. */
  private readonly acceptedLog: Logger;

  constructor(
    private readonly queue: EventQueueService,
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.acceptedLog = withoutRedaction(log);
  }

  /**
   * Validates, stores and enqueues one event; resolves only once its jobs (which hold the event:
   * the call state) are in Redis. Throws EventNotDurableError when Redis cannot take it in time.
   */
  async accept(type: string, params: Record<string, unknown>, method: string): Promise<Accepted> {
    if (!isEventType(type)) {
      throw new NotFoundException({
        statusCode: 404,
        error: 'Not Found',
        message: `Unknown event "${type.slice(0, 40)}". Configure VoipNow to call one of: ${EVENT_TYPES.map((t) => `/voipnow/events/${t}`).join(', ')}.`,
        validEvents: EVENT_TYPES,
      });
    }
    const parsed = parseCallEvent(type, params, Date.now(), { maxExtraParameters: this.config.ingest.maxExtraParameters });
    if (!parsed.ok) {
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: `Invalid ${type} event: ${parsed.problems.map((p) => `${p.field} ${p.problem}`).join('; ')}.`,
        problems: parsed.problems,
      });
    }
    const { event, ignored } = parsed;
    try {
      // The event's one write: its screen-pop job holds it and is the call state (CallStateService),
      // so a redelivery (same job id) leaves the first copy and adds nothing.
      await withTimeout(this.queue.enqueue(event), REDIS_BUDGET_MS);
    } catch (err) {
      this.log.error({ event: 'ingest.unavailable', type, id: event.id, err: (err as Error).message }, 'event not stored: Redis unavailable');
      throw new EventNotDurableError((err as Error).message);
    }
    const full = this.env.logFullNumbers;
    this.acceptedLog.info(
      {
        event: 'ingest.accepted',
        type,
        id: event.id,
        method,
        extension: event.extension,
        caller: maskNumber(event.callerNumber, full),
        called: maskNumber(event.calledNumber, full),
        status: event.status,
        ignored: ignored.length || undefined,
      },
      'event accepted',
    );
    return { accepted: true, id: event.id, ...(ignored.length ? { ignoredParameters: ignored } : {}) };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
