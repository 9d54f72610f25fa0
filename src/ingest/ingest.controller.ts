import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Res,
  ServiceUnavailableException,
  UnsupportedMediaTypeException,
  UseGuards,
  BadRequestException,
} from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { IngestAuthGuard } from './ingest-auth.guard';
import { Accepted, EventNotDurableError, IngestService } from './ingest.service';

/**
 * One route per event type, because VoipNow configures a URL per event and sends no event name.
 * GET carries the parameters in the query string, POST in a form (or JSON) body.
 */
@Controller('voipnow/events')
export class IngestController {
  constructor(private readonly ingest: IngestService) {}

  @Get(':event')
  @HttpCode(202)
  @UseGuards(IngestAuthGuard)
  get(@Param('event') event: string, @Query() query: Record<string, unknown>, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.accept(event, withoutToken(query), 'GET', reply);
  }

  @Post(':event')
  @HttpCode(202)
  @UseGuards(IngestAuthGuard)
  post(
    @Param('event') event: string,
    @Query() query: Record<string, unknown>,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if (typeof body === 'string') throw new UnsupportedMediaTypeException('Send the parameters as application/x-www-form-urlencoded or application/json.');
    if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) {
      throw new BadRequestException('The request body must be a form or a JSON object of parameters.');
    }
    return this.accept(event, withoutToken({ ...query, ...(body as Record<string, unknown> | undefined) }), 'POST', reply);
  }

  private async accept(event: string, params: Record<string, unknown>, method: string, reply: FastifyReply): Promise<Accepted> {
    try {
      return await this.ingest.accept(event, params, method);
    } catch (err) {
      if (!(err instanceof EventNotDurableError)) throw err;
      reply.header('Retry-After', '5');
      throw new ServiceUnavailableException('The event could not be stored (Redis unavailable); it was not accepted. Try again shortly.');
    }
  }
}

function withoutToken(params: Record<string, unknown>): Record<string, unknown> {
  const { token: _token, ...rest } = params;
  return rest;
}
