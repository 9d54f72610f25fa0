import {
  BadRequestException,
  Body,
  Controller,
  ForbiddenException,
  Get,
  Headers,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Res,
  UnauthorizedException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from 'pino';
import { z } from 'zod';
import { connectionNamed } from '../config/config.schema';
import { ConfigStore } from '../config/config.store';
import { APP_ENV, LOGGER } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { MappingService } from '../mappings/mapping.service';
import { signAgentToken, splitSecrets } from '../screen-pop/agent-token';
import { EMBED_SETTINGS } from './embed.tokens';
import { EmbedSettings } from './embed.settings';
import { PanelBindings } from './panel-bindings.service';

/** The CRMs a panel is embedded in. Each has its own page, adapter script and allowed framers. */
const CRMS = { salesforce: { title: 'Salesforce' }, hubspot: { title: 'HubSpot' } } as const;
type Crm = keyof typeof CRMS;

const ASSETS: Record<string, string> = {
  'embed.js': 'text/javascript; charset=utf-8',
  'embed.css': 'text/css; charset=utf-8',
  'salesforce.js': 'text/javascript; charset=utf-8',
  'hubspot.js': 'text/javascript; charset=utf-8',
  'calling-extensions-sdk.js': 'text/javascript; charset=utf-8',
};

const PAGE_DIR = join(__dirname, 'page');
/** HubSpot's SDK, served from our own origin (script-src 'self'), as its ES module build. */
const SDK_FILE = require.resolve('@hubspot/calling-extensions-sdk/dist/main.esm.js');
const files = new Map<string, string>(Object.keys(ASSETS).map((f) => [f, readFileSync(f === 'calling-extensions-sdk.js' ? SDK_FILE : join(PAGE_DIR, f), 'utf8')]));
/** The agent page's markup, reused as it is: the panel shows the same card, drawn by the same agent.js. */
const AGENT_BODY = /<body[^>]*>([\s\S]*)<\/body>/.exec(readFileSync(join(__dirname, '../screen-pop/page/agent.html'), 'utf8'))?.[1] ?? '';

const pairBody = z.object({ code: z.string().min(1, 'paste the pairing code').max(120, 'a pairing code is shorter than that') }).strict();

/**
 * The card inside the CRM: /embed/salesforce (Open CTI softphone panel) and /embed/hubspot
 * (calling extension iframe). Each page is the agent page's card plus a small adapter that turns
 * the card's updates into the CRM's pops. Framing is allowed only by the CRM origins configured
 * (CSP frame-ancestors); scripts come only from us and, for Salesforce, from the org's own domain
 * (Open CTI's script must be loaded from there).
 */
@Controller('embed')
export class EmbedController {
  constructor(
    @Inject(EMBED_SETTINGS) private readonly settings: EmbedSettings,
    private readonly bindings: PanelBindings,
    @Inject(APP_ENV) private readonly env: AppEnv,
    private readonly mappings: MappingService,
    private readonly config: ConfigStore,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  @Get('salesforce')
  salesforce(@Res() reply: FastifyReply) {
    return this.page('salesforce', reply);
  }

  @Get('hubspot')
  hubspot(@Res() reply: FastifyReply) {
    return this.page('hubspot', reply);
  }

  @Get('assets/:file')
  asset(@Param('file') file: string, @Res() reply: FastifyReply) {
    const type = ASSETS[file];
    if (!type) throw new NotFoundException(`No asset ${file}.`);
    return reply.headers({ 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache', 'referrer-policy': 'no-referrer' }).type(type).send(files.get(file));
  }

  /** The agent pastes the pairing code once; the panel keeps the key it gets back. */
  @Post('pair')
  @HttpCode(201)
  async pair(@Headers('content-type') contentType: string | undefined, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    void reply.header('cache-control', 'no-store');
    requireJson(contentType);
    const parsed = pairBody.safeParse(body ?? {});
    if (!parsed.success) throw new BadRequestException(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const result = await this.bindings.pair(parsed.data.code);
    if (!result.ok) {
      const message = {
        malformed: 'That is not a pairing code (they look like VNCC-xxxxxxxxxx-…). Copy the whole code again.',
        unknown: 'That pairing code is not known (mistyped, or its binding was revoked). Ask your administrator for a new one.',
        used: 'That pairing code was already used. Each code works once: ask your administrator for a new one.',
        expired: 'That pairing code has expired. Ask your administrator for a new one.',
      }[result.problem];
      this.log.warn({ event: 'embed.pair.refused', problem: result.problem }, 'panel pairing refused');
      if (result.problem === 'malformed') throw new BadRequestException(message);
      throw result.problem === 'unknown' ? new UnauthorizedException(message) : new ForbiddenException(message);
    }
    this.log.info({ event: 'embed.panel.paired', binding: result.binding.id, extensions: result.binding.extensions }, 'CRM panel paired');
    return { key: result.key, label: result.binding.label, extensions: result.binding.extensions };
  }

  /**
   * A bound panel's session: a stream token for its extensions (short-lived, renewed by the
   * panel), and what the pops follow per extension (the mapping's connection and its CRM type,
   * unknownCaller), read from the mapping as it is now. Asked again every sessionCheckSeconds,
   * which is how a revoked binding reaches an open panel.
   */
  @Post('session')
  @HttpCode(200)
  async session(@Headers('authorization') authorization: string | undefined, @Res({ passthrough: true }) reply: FastifyReply) {
    void reply.header('cache-control', 'no-store');
    const key = /^Bearer +(\S+) *$/i.exec(authorization ?? '')?.[1];
    if (!key) throw new UnauthorizedException('Send the panel key as "Authorization: Bearer <key>" (the panel does this by itself).');
    const result = await this.bindings.check(key);
    if (!result.ok) throw new UnauthorizedException('This panel is not bound to any extension any more (its binding was revoked). Pair it again with a new code from your administrator.');
    // An agent link like any other (what the stream and the card's writes check), without an id:
    // short-lived instead, since the binding is what ops revoke.
    const { token, payload } = signAgentToken(splitSecrets(this.env.agentLinkSecret)[0], result.binding.extensions, { ttlHours: this.settings.sessionTtlHours });
    // EMBED_SESSION_TTL_HOURS is at least 0.05, so a session token always expires.
    if (payload.exp === undefined) throw new Error('A panel session token was signed without an expiry; set EMBED_SESSION_TTL_HOURS to a positive number of hours.');
    return {
      token,
      expiresAt: new Date(payload.exp * 1000).toISOString(),
      label: result.binding.label,
      extensions: payload.ext,
      checkSeconds: this.settings.sessionCheckSeconds,
      policies: Object.fromEntries(payload.ext.map((ext) => [ext, this.policy(ext)])),
    };
  }

  private policy(extension: string) {
    const mapping = this.mappings.resolve(extension);
    const connection = mapping.connection;
    return {
      connection: connection ?? null,
      crm: connection ? (connectionNamed(this.config.current, connection)?.type ?? null) : null,
      unknownCaller: mapping.actions.unknownCaller,
      popOnDialIn: mapping.actions.popOnDialIn,
      popOnDialOut: mapping.actions.popOnDialOut,
    };
  }

  private page(crm: Crm, reply: FastifyReply) {
    const origins = crm === 'salesforce' ? this.settings.salesforceOrigins : this.settings.hubspotOrigins;
    const sources = origins.join(' ');
    const csp = [
      "default-src 'none'",
      // Open CTI's script lives on the org's own domain; HubSpot's SDK is served by us.
      `script-src 'self'${crm === 'salesforce' && sources ? ` ${sources}` : ''}`,
      "style-src 'self'",
      "connect-src 'self'",
      "img-src 'self'",
      // The page reuses the agent page's relative links through <base href="../">.
      "base-uri 'self'",
      "form-action 'none'",
      `frame-ancestors ${sources || "'none'"}`,
    ].join('; ');
    void reply.headers({ 'content-security-policy': csp, 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
    const config = { crm, origins, openCtiVersion: this.settings.openCtiVersion };
    return reply.type('text/html; charset=utf-8').send(panelHtml(crm, config, origins.length > 0));
  }
}

export function requireJson(contentType: string | undefined) {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') throw new UnsupportedMediaTypeException('Send the body as JSON (content-type: application/json).');
}

function attr(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function panelHtml(crm: Crm, config: Record<string, unknown>, configured: boolean): string {
  const title = CRMS[crm].title;
  const adapter = crm === 'hubspot' ? '<script type="module" src="embed/assets/hubspot.js"></script>' : '<script src="embed/assets/salesforce.js" defer></script>';
  const notConfigured = configured
    ? ''
    : `<p class="crm-state" role="alert">This panel is not set up: no ${title} origin may show it. Ask your administrator to set ${crm === 'salesforce' ? 'EMBED_SALESFORCE_ORIGINS' : 'EMBED_HUBSPOT_ORIGINS'}.</p>`;
  return `<!doctype html>
<html lang="en" data-crm="${crm}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <base href="../">
  <meta name="vncc-embed" content="${attr(JSON.stringify(config))}">
  <title>Calls · VoipNow in ${title}</title>
  <link rel="stylesheet" href="agent/assets/agent.css">
  <link rel="stylesheet" href="embed/assets/embed.css">
  <script src="embed/assets/embed.js" defer></script>
  ${adapter}
</head>
<body class="embedded">
  ${notConfigured}
  <section id="vncc-bind" class="bind" aria-labelledby="vncc-bind-heading" hidden>
    <h1 id="vncc-bind-heading">Connect this panel to your phone</h1>
    <p>Paste the pairing code your administrator gave you. You do this once: the panel remembers it in this browser.</p>
    <form id="vncc-bind-form">
      <label for="vncc-code">Pairing code</label>
      <input id="vncc-code" name="code" autocomplete="off" spellcheck="false" maxlength="120" required>
      <button type="submit">Connect</button>
    </form>
    <p id="vncc-bind-state" class="hint" role="status"></p>
  </section>
  <p id="vncc-crm-state" class="crm-state" role="status" hidden></p>
  <div id="vncc-agent" hidden>${AGENT_BODY}</div>
</body>
</html>`;
}
