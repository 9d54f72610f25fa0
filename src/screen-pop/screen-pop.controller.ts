import { BadRequestException, Controller, Get, HttpException, Inject, NotFoundException, Param, Query, Req, Res, ServiceUnavailableException } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from 'pino';
import { APP_ENV, LOGGER } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { AgentLinks } from './agent-links.service';
import { AgentStream, parseLastEventId, SseSink } from './agent-stream';
import { AgentTokenPayload } from './agent-token';
import { StreamCaps } from './stream-caps';
import { HEARTBEAT_MS, UpdateHub } from './update-hub.service';

/**
 * Strict: scripts and styles only from our own files, no inline code, no framing; the CRM
 * record links are plain navigations and need nothing here. The token is in the page's URL, so
 * no Referer may carry it to the CRM.
 */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};
const ASSETS: Record<string, string> = { 'agent.js': 'text/javascript; charset=utf-8', 'agent.css': 'text/css; charset=utf-8' };
/** Sent once per stream: how soon the browser reconnects after a drop. */
const RETRY_MS = 1000;

/** Plain files served as they are (no build step); read once at start. */
const PAGE_DIR = join(__dirname, 'page');
const files = new Map(['agent.html', ...Object.keys(ASSETS)].map((f) => [f, readFileSync(join(PAGE_DIR, f), 'utf8')]));

/** The agent's page, its assets, and its Server-Sent Events stream of call updates. */
@Controller('agent')
export class ScreenPopController {
  private readonly caps: StreamCaps;

  constructor(
    private readonly links: AgentLinks,
    private readonly hub: UpdateHub,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(APP_ENV) env: AppEnv,
  ) {
    this.caps = new StreamCaps(env.agentStreams);
  }

  @Get()
  page(@Query('token') token: unknown, @Res() reply: FastifyReply) {
    void reply.headers({ ...PAGE_HEADERS, 'cache-control': 'no-store' });
    try {
      this.links.verify(token);
    } catch (err) {
      const status = (err as { getStatus?: () => number }).getStatus?.() ?? 500;
      if (status >= 500) throw err;
      return reply
        .code(status)
        .type('text/html; charset=utf-8')
        .send(refusedPage((err as Error).message));
    }
    return reply.type('text/html; charset=utf-8').send(files.get('agent.html'));
  }

  @Get('assets/:file')
  asset(@Param('file') file: string, @Res() reply: FastifyReply) {
    const type = ASSETS[file];
    if (!type) throw new NotFoundException(`No asset ${file}.`);
    return reply
      .headers({ ...PAGE_HEADERS, 'cache-control': 'no-cache' })
      .type(type)
      .send(files.get(file));
  }

  /** What the page's link allows; the page asks when its stream was refused, to tell "expired" from "server away". */
  @Get('session')
  session(@Query('token') token: unknown) {
    const link = this.links.verify(token);
    return { extensions: link.ext, expiresAt: link.exp ? new Date(link.exp * 1000).toISOString() : null };
  }

  /**
   * The page's stream (EventSource cannot send headers, hence the token in the query). A page
   * that reconnects sends Last-Event-ID (or ?lastEventId= when the page itself reconnects) and
   * gets what it missed in the last minute; a new page gets the last minute too, so a page opened
   * while the phone rings shows the call.
   */
  @Get('stream')
  async stream(@Query() query: Record<string, unknown>, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const link = this.links.verify(query.token);
    const sent = req.headers['last-event-id'] ?? query.lastEventId;
    const start = sent === undefined ? link.ext.map(() => '0-0') : parseLastEventId(typeof sent === 'string' ? sent : undefined, link.ext);
    if (!start) throw new BadRequestException("Last-Event-ID is not a position of this link's stream (one stream id per extension, comma-separated). Reload the page.");
    if (!this.hub.available) throw new ServiceUnavailableException('Call updates are unavailable right now (Redis is not reachable). The page retries by itself.');
    const slot = this.caps.take(String(query.token), req.ip);
    if ('refused' in slot) throw new HttpException({ statusCode: 429, error: 'Too Many Requests', message: slot.refused }, 429);

    reply.hijack();
    const raw = reply.raw;
    // The connection stays open for hours: only a silence longer than a few heartbeats ends it.
    req.raw.socket.setTimeout(3 * HEARTBEAT_MS);
    const sink: SseSink = {
      write: (chunk) => {
        if (!raw.headersSent) {
          raw.writeHead(200, { ...PAGE_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' });
          raw.write(`retry: ${RETRY_MS}\n\n`);
        }
        return raw.write(chunk);
      },
      get writableLength() {
        return raw.writableLength;
      },
      end: () => raw.end(),
      destroy: () => raw.destroy(),
    };
    const stream = new AgentStream(link.ext, start, sink);
    // Set by the 'close' listener, possibly while the catch-up awaits (TypeScript would take it for always false).
    let closed = false as boolean;
    let expiry: NodeJS.Timeout | undefined;
    let stopWatching: (() => void) | undefined;
    raw.on('close', () => {
      closed = true;
      clearTimeout(expiry);
      stopWatching?.();
      this.hub.remove(stream);
      slot.release();
    });
    try {
      await this.hub.add(stream);
      await stream.catchUp(this.hub.read);
    } catch (err) {
      this.hub.remove(stream);
      this.log.warn({ event: 'agent.stream.failed', err: (err as Error).message }, 'agent stream could not start');
      if (raw.headersSent) raw.destroy();
      else raw.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 503, message: 'Call updates are unavailable right now. The page retries by itself.' }));
      return;
    }
    if (closed) {
      this.hub.remove(stream);
      return;
    }
    stream.event('ready', { extensions: link.ext, expiresAt: link.exp ? new Date(link.exp * 1000).toISOString() : null, serverTime: Date.now() });
    expiry = this.closeAtExpiry(link, stream);
    // A link revoked by ops ends its streams; the page's reconnect is refused (403) and says so.
    stopWatching = this.links.onRevoked(link, () => stream.close());
    this.log.info({ event: 'agent.stream.opened', extensions: link.ext, replayFrom: sent === undefined ? 'last minute' : 'Last-Event-ID' }, 'agent page connected');
  }

  /** An expired link's stream ends; its reconnect is refused (403) and the page says so. */
  private closeAtExpiry(link: AgentTokenPayload, stream: AgentStream): NodeJS.Timeout | undefined {
    if (link.exp === undefined) return undefined;
    // setTimeout holds at most ~24.8 days; a longer link is cut then and simply reconnects.
    return setTimeout(() => stream.close(), Math.min(link.exp * 1000 - Date.now(), 2 ** 31 - 1)).unref();
  }
}

function refusedPage(message: string): string {
  const text = message.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Agent link refused</title><link rel="stylesheet" href="agent/assets/agent.css"></head><body><main class="refused"><h1>This agent link cannot be used</h1><p role="alert">${text}</p></main></body></html>`;
}
