import { BadRequestException, Body, Controller, ForbiddenException, Headers, HttpCode, HttpException, Inject, Post, Res, UnauthorizedException, UnsupportedMediaTypeException } from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { Logger } from 'pino';
import { z } from 'zod';
import { MAX_NOTES } from '../calls/wrap-up';
import { WrapUpError, WrapUpService } from '../calls/wrap-up.service';
import { LOGGER } from '../config/config.tokens';
import { AgentLinks } from './agent-links.service';
import { AgentTokenPayload } from './agent-token';

const callRef = {
  // As VoipNow sends a CallID (printable, no spaces), and an extended or short extension.
  callId: z.string().regex(/^[\x21-\x7e]{1,128}$/, 'a CallID is 1-128 printable characters without spaces'),
  extension: z.string().regex(/^\d{1,12}(\*\d{1,12})?$/, 'an extension is an extended (0003*210) or short (210) extension number'),
};

const wrapUpBody = z
  .object({
    ...callRef,
    notes: z.string().max(MAX_NOTES, `notes are at most ${MAX_NOTES} characters`).optional(),
    // '' clears a disposition chosen before.
    disposition: z.string().max(40).optional(),
    recordId: z.string().min(1).max(255).optional(),
    done: z.boolean().optional(),
  })
  .strict();

const contactBody = z
  .object({
    ...callRef,
    name: z.string().trim().max(256, 'a name is at most 256 characters').optional(),
  })
  .strict();

/**
 * The card's writes: the agent's wrap-up of a call and a contact created for an unknown caller.
 * Authorised only by the agent link's token in `Authorization: Bearer …` and only as JSON: a
 * cross-site page can make a browser send a form or a cookie, never that header, so no other
 * site can write through an agent's browser. The link must name the call's extension.
 */
@Controller('agent/calls')
export class AgentCallsController {
  constructor(
    private readonly links: AgentLinks,
    private readonly wrapUps: WrapUpService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  @Post('wrap-up')
  @HttpCode(200)
  async wrapUp(@Headers() headers: Record<string, string | undefined>, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { input, link } = this.accept(headers, body, reply, wrapUpBody);
    const { callId, extension, ...patch } = input;
    const view = await this.run(() => this.wrapUps.save(callId, extension, patch));
    this.log.info({ event: 'agent.wrapUp.saved', callId, extension, links: link.ext.length, done: patch.done === true, state: view.state }, 'wrap-up saved from the card');
    return view;
  }

  @Post('contact')
  @HttpCode(200)
  async contact(@Headers() headers: Record<string, string | undefined>, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { input } = this.accept(headers, body, reply, contactBody);
    const match = await this.run(() => this.wrapUps.createContact(input.callId, input.extension, { name: input.name || undefined }));
    this.log.info({ event: 'agent.contact.created', callId: input.callId, extension: input.extension, connection: match.connection, recordType: match.recordType }, 'contact created from the card');
    return match;
  }

  /** Link, media type, body and extension, in that order; throws the HTTP error to answer. */
  private accept<T extends z.ZodType<{ extension: string }>>(
    headers: Record<string, string | undefined>,
    body: unknown,
    reply: FastifyReply,
    schema: T,
  ): { input: z.infer<T>; link: AgentTokenPayload } {
    void reply.header('cache-control', 'no-store');
    const link = this.links.verify(bearer(headers.authorization));
    const type = (headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') throw new UnsupportedMediaTypeException('Send the body as JSON (content-type: application/json).');
    const parsed = schema.safeParse(body ?? {});
    if (!parsed.success) throw new BadRequestException(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const input = parsed.data;
    if (!link.ext.includes(input.extension)) {
      throw new ForbiddenException(`This link is for ${link.ext.join(', ')}, not for ${input.extension}: a card can only write to its own extensions' calls.`);
    }
    return { input, link };
  }

  private async run<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (err instanceof WrapUpError) throw new HttpException({ statusCode: err.status, message: err.message }, err.status);
      throw err;
    }
  }
}

/** The token of `Authorization: Bearer <token>`; nothing else (no query token, no cookie) authorises a write. */
function bearer(header: string | undefined): string {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  if (!match) throw new UnauthorizedException('Writes need the agent link\'s token as "Authorization: Bearer <token>" (the agent page sends it).');
  return match[1];
}
