import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * As strict as the agent page: our own script and style only, no inline code, no framing (so no
 * other site can overlay it and have ops click), no Referer. The console holds no ambient
 * credential: the admin token is typed once, kept in sessionStorage and sent as a Bearer header,
 * which a forged cross-site request cannot carry.
 */
export const CONSOLE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};
const ASSETS: Record<string, string> = { 'console.js': 'text/javascript; charset=utf-8', 'console.css': 'text/css; charset=utf-8' };

/** Plain files served as they are (no build step); read once at start. */
const PAGE_DIR = join(__dirname, 'console');
const files = new Map(['console.html', ...Object.keys(ASSETS)].map((f) => [f, readFileSync(join(PAGE_DIR, f), 'utf8')]));

/**
 * The ops console's page and assets. They hold no data, so they are served without the token;
 * everything the page shows comes from the admin API, which needs it.
 */
@Controller('admin/console')
export class ConsoleController {
  @Get()
  page(@Res() reply: FastifyReply) {
    return reply
      .headers({ ...CONSOLE_HEADERS, 'cache-control': 'no-store' })
      .type('text/html; charset=utf-8')
      .send(files.get('console.html'));
  }

  @Get('assets/:file')
  asset(@Param('file') file: string, @Res() reply: FastifyReply) {
    const type = ASSETS[file];
    if (!type) throw new NotFoundException(`No asset ${file}.`);
    return reply
      .headers({ ...CONSOLE_HEADERS, 'cache-control': 'no-cache' })
      .type(type)
      .send(files.get(file));
  }
}
