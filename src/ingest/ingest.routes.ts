import { BadRequestException, Injectable, OnModuleInit, ServiceUnavailableException, UnsupportedMediaTypeException } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { IngestAuth } from './ingest-auth';
import { INGEST_ROUTE } from './ingest-path';
import { Accepted, EventNotDurableError, IngestService } from './ingest.service';

type IngestRequest = FastifyRequest<{ Params: { event: string }; Querystring: Record<string, unknown> }>;

/**
 * One route per event type, because VoipNow configures a URL per event and sends no event name.
 * GET carries the parameters in the query string, POST in a form (or JSON) body.
 *
 * Registered on Fastify directly, not as a Nest controller: this is the one route that runs per
 * call event, and under load Nest's per-request pipeline (execution context, guard and pipe
 * consumers, router proxy) was a sizeable share of its CPU (see bench/ingest.mjs). Refusals are
 * still thrown as Nest HttpExceptions, which Nest's error handler (set on the same Fastify
 * instance) answers with the same statuses and bodies as for any controller.
 *
 * IngestModule provides this, so the routes exist exactly when the HTTP side runs (ROLE api or
 * all); they are added while the application initialises, before the server listens.
 */
@Injectable()
export class IngestRoutes implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly auth: IngestAuth,
    private readonly ingest: IngestService,
  ) {}

  onModuleInit() {
    // Nest's type promises an adapter; an application context (NestFactory.createApplicationContext) has none.
    const adapter = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    if (!adapter) throw new Error('IngestModule serves HTTP: create it with NestFactory.create and the Fastify adapter, not as an application context.');
    registerIngestRoutes(adapter.getInstance<FastifyInstance>(), this.auth, this.ingest);
  }
}

function registerIngestRoutes(fastify: FastifyInstance, auth: IngestAuth, ingest: IngestService): void {
  fastify.route<{ Params: { event: string }; Querystring: Record<string, unknown> }>({
    method: ['GET', 'POST'],
    url: INGEST_ROUTE,
    handler: async (req, reply) => {
      const refused = auth.check(req);
      if (refused) await refused;
      const params = req.method === 'POST' ? postParams(req) : withoutToken(req.query);
      const accepted = await accept(ingest, req.params.event, params, req.method, reply);
      void reply.code(202);
      return accepted;
    },
  });
  fastify.route({
    method: ['PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
    url: INGEST_ROUTE,
    handler: (_req, reply) => {
      void reply.code(405).header('Allow', 'GET, POST').send({ statusCode: 405, error: 'Method Not Allowed', message: 'Call Events are sent with GET or POST.' });
    },
  });
}

function postParams(req: IngestRequest): Record<string, unknown> {
  const body: unknown = req.body;
  if (typeof body === 'string') throw new UnsupportedMediaTypeException('Send the parameters as application/x-www-form-urlencoded or application/json.');
  if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) {
    throw new BadRequestException('The request body must be a form or a JSON object of parameters.');
  }
  return withoutToken({ ...req.query, ...(body as Record<string, unknown> | undefined) });
}

async function accept(ingest: IngestService, event: string, params: Record<string, unknown>, method: string, reply: FastifyReply): Promise<Accepted> {
  try {
    return await ingest.accept(event, params, method);
  } catch (err) {
    if (!(err instanceof EventNotDurableError)) throw err;
    void reply.header('Retry-After', '5');
    throw new ServiceUnavailableException(`The event could not be stored: Redis is unavailable and ${err.message}. It was not accepted; try again shortly.`);
  }
}

function withoutToken(params: Record<string, unknown>): Record<string, unknown> {
  const { token: _token, ...rest } = params;
  return rest;
}
