import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';

/** Keys whose values are secrets wherever they appear in a log line. */
const REDACT = [
  'token',
  'accessToken',
  'refreshToken',
  'authorization',
  'password',
  'clientSecret',
  'privateKey',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.authorization',
  '*.password',
  '*.clientSecret',
  '*.privateKey',
  'req.headers.authorization',
  'req.headers["x-connector-token"]',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'voipnow-crm-connector' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    // Asynchronous, buffered writes to stdout: lines go out 4 KiB at a time, or at the latest every
    // 250 ms, instead of one write() per line (under load, per event: ~5% of the ingest path's CPU
    // in bench/ingest.mjs). pino flushes what is pending on exit; a SIGKILLed process loses at
    // most the last 250 ms of lines.
    destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 }),
  );
}

/**
 * The same logger without the redaction above, for hot-path lines made only of fields the caller
 * has already made safe (validated identifiers, masked numbers, constants). pino runs every
 * wildcard path ('*.token') over every field of every line: profiling put that at two thirds of
 * the cost of the one line logged per ingested event (~13 of ~20 µs).
 */
export function withoutRedaction(logger: Logger): Logger {
  return logger.child({}, { redact: [] });
}

/**
 * Masks a phone number for logs: keeps a leading '+' and the last three digits, so ops can
 * still tell calls apart without the log holding personal data.
 */
export function maskNumber(value: string, showFull?: boolean): string;
export function maskNumber(value: string | undefined, showFull?: boolean): string | undefined;
export function maskNumber(value: string | undefined, showFull = false): string | undefined {
  if (!value || showFull) return value;
  const keep = 3;
  if (value.length <= keep) return '*'.repeat(value.length);
  return value.slice(0, value.length - keep).replace(/[0-9A-Za-z]/g, '*') + value.slice(-keep);
}

/** Lets Nest's own messages (start-up, routes, shutdown) come out as the same JSON lines. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  // Nest's route and module listings are start-up chatter: debug, not info.
  log(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
}

/** A Redis URL fit for a log line or a health answer: its password (and a bare token user) hidden. */
export function maskRedisUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)([^@/]*)@/i, (_m, scheme: string, auth: string) => {
    const colon = auth.indexOf(':');
    return `${scheme}${colon >= 0 ? `${auth.slice(0, colon)}:***` : '***'}@`;
  });
}
