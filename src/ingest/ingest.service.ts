import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { Logger } from 'pino';
import { ConnectorConfig } from '../config/config.schema';
import { APP_ENV, CONNECTOR_CONFIG, LOGGER } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { maskNumber, withoutRedaction } from '../logging/logger';
import { EventQueueService } from '../queue/event-queue.service';
import { withTimeout } from '../common/with-timeout';
import { SpoolService } from '../spool/spool.service';
import { CallEvent, EVENT_TYPES, isEventType, parseCallEvent } from './call-event';
import { INGEST_PREFIX } from './ingest-path';

/** Neither Redis nor the spool could keep the event; `message` says why (for the 503). */
export class EventNotDurableError extends Error {}

export interface Accepted {
  accepted: true;
  id: string;
  /** Kept in this instance's local spool (Redis could not take it); it reaches Redis once Redis is back. */
  spooled?: true;
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
    private readonly spool: SpoolService,
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.acceptedLog = withoutRedaction(log);
  }

  /**
   * Validates, stores and enqueues one event; resolves only once the event is durable: its jobs
   * (which carry the event to the workers) are in Redis, or, when Redis cannot take it in time, it
   * is fsync'd in the local spool (replayed into Redis later). Throws EventNotDurableError when
   * neither can keep it.
   */
  async accept(type: string, params: Record<string, unknown>, method: string): Promise<Accepted> {
    if (!isEventType(type)) {
      throw new NotFoundException({
        statusCode: 404,
        error: 'Not Found',
        message: `Unknown event "${type.slice(0, 40)}". Configure VoipNow to call one of: ${EVENT_TYPES.map((t) => `${INGEST_PREFIX}/${t}`).join(', ')}.`,
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
    const spooled = await this.store(event);
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
        spooled: spooled || undefined,
        ignored: ignored.length || undefined,
      },
      'event accepted',
    );
    return { accepted: true, id: event.id, ...(spooled ? { spooled: true as const } : {}), ...(ignored.length ? { ignoredParameters: ignored } : {}) };
  }

  /** Redis first (the spool first while Redis is known away, or the call has events spooled); true when spooled. */
  private async store(event: CallEvent): Promise<boolean> {
    if (!this.spool.takesDirectly(event)) {
      try {
        // The event's one write: its screen-pop job, which carries it until the worker keeps it in the
        // call state (CallStateService); a redelivery (same job id) leaves the first copy and adds nothing.
        await withTimeout(this.queue.enqueue(event), REDIS_BUDGET_MS, { subject: 'Redis' });
        return false;
      } catch (err) {
        // A write that timed out may still land in Redis: the replay's add with the same job id is then a no-op.
        this.log.warn({ event: 'ingest.redis_unavailable', type: event.type, id: event.id, err: (err as Error).message }, 'Redis cannot take the event: spooling it');
        this.spool.redisUnavailable();
      }
    }
    try {
      await this.spool.keep(event);
      return true;
    } catch (err) {
      this.log.error({ event: 'ingest.unavailable', type: event.type, id: event.id, err: (err as Error).message }, 'event not stored: Redis unavailable and the spool cannot keep it');
      throw new EventNotDurableError((err as Error).message);
    }
  }
}
