import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { relative, resolve } from 'node:path';
import { Logger } from 'pino';
import { AppModule } from './app.module';
import { ConfigError, loadConfigFile } from './config/config.loader';
import { ConnectorConfig } from './config/config.schema';
import { AppEnv, EnvError, readEnv, secretLookup } from './config/env';
import { readEmbedSettings } from './embed/embed.settings';
import { isEventType } from './ingest/call-event';
import { INGEST_PREFIX } from './ingest/ingest-path';
import { createLogger, PinoNestLogger } from './logging/logger';
import { MetricsService } from './metrics/metrics.service';
import { mountQueueDashboard } from './admin/queue-dashboard';

/** A start that cannot go on for a reason outside the configuration (the port is taken...): one line says which. */
export class StartupError extends Error {}

export interface StartedApp {
  app: NestFastifyApplication;
  url: string;
  env: AppEnv;
  config: ConnectorConfig;
  logger: Logger;
}

/** Builds and starts the connector; main.ts and the integration tests share this path. */
export async function startApp(overrides: { env?: NodeJS.ProcessEnv; logger?: Logger } = {}): Promise<StartedApp> {
  const { env, config } = readEnvAndConfig(overrides.env ?? process.env);
  // Checked here as well as in EmbedModule's provider: a refusal from inside NestFactory.create
  // comes after the Redis clients are connected, and nothing can close them then (no app is
  // returned), so an in-process start (the tests) kept their sockets and could not exit.
  if (env.role !== 'worker') readEmbedSettings(env);
  const logger = overrides.logger ?? createLogger(env.logLevel);

  const adapter = new FastifyAdapter({
    bodyLimit: env.bodyLimitBytes,
    trustProxy: env.trustProxy,
    // Fastify would otherwise answer HEAD by running the GET handler, i.e. ingest an event.
    exposeHeadRoutes: false,
    // A sender that trickles a body must not hold a connection open for long. Node enforces
    // requestTimeout and headersTimeout only when it sweeps its connections, every 30 s unless
    // told otherwise: a 10 s limit was cut after 30 to 80 s.
    requestTimeout: env.requestTimeoutMs,
    connectionTimeout: env.requestTimeoutMs,
    http: { headersTimeout: env.requestTimeoutMs, connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor(env.requestTimeoutMs / 4))) },
    routerOptions: { maxParamLength: 200 },
    // No Nest middleware is used: without middie its hook does not run on every request (events included).
    skipMiddie: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(env, config, logger), adapter, {
    logger: new PinoNestLogger(logger),
    abortOnError: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  // text/plain would reach the handlers as a string; VoipNow sends forms, tools send JSON.
  fastify.removeContentTypeParser('text/plain');
  // The ingest routes are IngestModule's own (ingest.routes.ts), added as the app initialises.
  logRefusedEvents(fastify, logger);
  countEvents(fastify, app.get(MetricsService));
  fastify.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'string' }, (_req, body, done) => done(null, body));
  if (env.role !== 'worker') mountQueueDashboard(app, env);
  // Signals are main.ts's: it logs the stop and exits once everything is closed.
  try {
    await app.listen({ port: env.port, host: env.host });
  } catch (err) {
    await app.close().catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new StartupError(`Port ${env.port} on ${env.host} is already in use (another connector, or another program). Stop it, or set PORT to a free port.`);
    if (code === 'EACCES') throw new StartupError(`Not allowed to listen on port ${env.port} (ports below 1024 need privileges). Set PORT to 1024 or above and put a reverse proxy in front.`);
    if (code === 'EADDRNOTAVAIL') throw new StartupError(`HOST=${env.host} is not an address of this machine. Use 0.0.0.0 (all addresses) or one of its own.`);
    throw err;
  }
  const address = fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : env.port;
  const url = `http://127.0.0.1:${port}`;
  const listening = `http://${displayHost(env.host)}:${port}`;
  // Development links use the address the connector listens on; production names PUBLIC_URL.
  if (!env.publicUrl && !env.production) env.publicUrl = listening;
  logStarted(logger, env, port, listening);
  return { app, url, env, config, logger };
}

/** The host a person types to reach a server bound to `host` (all addresses: this machine). */
function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

/** The start-up line: where it listens and, for a newcomer, where the secrets are and how to open an agent page. */
function logStarted(logger: Logger, env: AppEnv, port: number, listening: string) {
  const parts = [`voipnow-crm-connector (role ${env.role}) listening on ${listening}`, `configuration ${relative(process.cwd(), env.configFile) || env.configFile}`];
  if (env.generatedSecrets.length > 0) parts.push(`development secrets (${env.generatedSecrets.join(', ')}) are in ${relative(process.cwd(), env.secretsDir) || env.secretsDir}/`);
  if (env.role !== 'worker') {
    // `npm run agent-link` rebuilds first, which a production install (dev dependencies pruned) cannot.
    parts.push(
      env.production
        ? 'agent page links: POST /admin/agent-links, or node dist/cli/agent-link.js --ext 0003*210'
        : 'agent page link: npm run agent-link -- --ext 0003*210 (or POST /admin/agent-links)',
    );
  }
  if (env.production && !env.publicUrl && env.role !== 'worker') parts.push('set PUBLIC_URL so minted agent links are full URLs');
  logger.info(
    { event: 'started', role: env.role, port, url: listening, publicUrl: env.publicUrl, configFile: env.configFile, ...(env.generatedSecrets.length ? { secretsDir: env.secretsDir } : {}) },
    parts.join('; '),
  );
}

/**
 * The environment, then the configuration. When the environment is refused (secrets missing in
 * production, say), the configuration's own problems, CRM secrets not set among them, join the
 * same report: one start lists everything to fix. Both come before the logger: a process that
 * refuses to start has no stdout stream to leave behind.
 */
function readEnvAndConfig(vars: NodeJS.ProcessEnv): { env: AppEnv; config: ConnectorConfig } {
  let env: AppEnv;
  try {
    env = readEnv(vars);
  } catch (err) {
    if (!(err instanceof EnvError)) throw err;
    try {
      loadConfigFile(resolve(vars.CONFIG_FILE || 'config/connector.yaml'), secretLookup(vars));
    } catch (configErr) {
      if (configErr instanceof ConfigError) throw new EnvError(`${err.message}\n${configErr.message}`);
    }
    throw err;
  }
  return { env, config: loadConfigFile(env.configFile, env.secret) };
}

/** What every Call Event's URL starts with. */
const EVENTS_PATH = `${INGEST_PREFIX}/`;

/**
 * One log line for every refused event, wherever it was refused (auth guard, validation, or
 * Fastify itself for 413/415/bad JSON). Only field names are logged: the values may be numbers.
 */
function logRefusedEvents(fastify: FastifyInstance, logger: Logger) {
  // A callback hook, not an async one: it runs on every response, and this way the accepted
  // events (the hot path) cost it one comparison and no promise.
  fastify.addHook('onSend', (req, reply, payload, done) => {
    if (reply.statusCode >= 400 && req.url.startsWith(EVENTS_PATH)) logRefused(logger, req, reply.statusCode, payload);
    // Nest's 404 quotes the URL ("Cannot GET /x?token=..."): its query string may hold a token.
    if (reply.statusCode === 404 && typeof payload === 'string' && payload.includes('?')) done(null, scrubSecrets(payload));
    else done(null, payload);
  });
}

function logRefused(logger: Logger, req: FastifyRequest, status: number, payload: unknown) {
  let body: { message?: unknown; problems?: { field: string }[] } = {};
  try {
    body = typeof payload === 'string' ? (JSON.parse(payload) as typeof body) : {};
  } catch {
    // not JSON: nothing more to report than the status
  }
  const event = req.url.slice(EVENTS_PATH.length).split('?')[0].slice(0, 40);
  logger.warn(
    {
      event: 'ingest.refused',
      status,
      type: event,
      method: req.method,
      ip: req.ip,
      ...(body.problems ? { fields: body.problems.map((p) => p.field) } : { reason: typeof body.message === 'string' ? scrubSecrets(body.message).slice(0, 200) : undefined }),
    },
    'event refused',
  );
}

/**
 * Messages that quote a URL (Nest's "Cannot GET /voipnow/events/?token=...") lose its query
 * string: it holds the token and the event's parameters, phone numbers included.
 */
export function scrubSecrets(text: string): string {
  // Never across a backslash: in a JSON body it escapes the quote that ends the string, and eating
  // it would leave a body that is not JSON any more (a 404 for an event type written "/?").
  return text.replace(/(\/[^\s"?\\]*)\?[^\s"\\]*/g, '$1?[redacted]');
}

/** Every Call Event request counted by type and the status it was answered with. */
function countEvents(fastify: FastifyInstance, metrics: MetricsService) {
  // Counted in a plain map and handed to prom-client when /metrics is scraped: prom-client hashes
  // the label set on every inc(), once per event on the ingest path. Both labels are bounded
  // (five types and 'unknown'; HTTP statuses).
  const pending = new Map<string, { type: string; status: string; count: number }>();
  fastify.addHook('onResponse', (req, reply, done) => {
    if (req.url.startsWith(EVENTS_PATH)) {
      const path = req.url.slice(EVENTS_PATH.length);
      const end = path.indexOf('?');
      const raw = end < 0 ? path : path.slice(0, end);
      const type = isEventType(raw) ? raw : 'unknown';
      const key = `${type} ${reply.statusCode}`;
      const entry = pending.get(key);
      if (entry) entry.count++;
      else pending.set(key, { type, status: String(reply.statusCode), count: 1 });
    }
    done();
  });
  metrics.addCollector(async () => {
    for (const entry of pending.values()) {
      if (entry.count === 0) continue;
      metrics.eventsReceived.inc({ type: entry.type, status: entry.status }, entry.count);
      entry.count = 0;
    }
  });
}
