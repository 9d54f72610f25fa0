import { BadRequestException, Body, Controller, Post, Req, UseGuards } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AdminAuthGuard } from '../admin/admin-auth.guard';
import { AgentLinks } from './agent-links.service';
import { extensionsSchema } from './agent-token';

const mintBody = z
  .object({
    extensions: extensionsSchema,
    /** Omitted: the link does not expire (rotate AGENT_LINK_SECRET to revoke such links). */
    ttlHours: z.number().positive().max(24 * 366).optional(),
  })
  .strict();

/** Ops mint agent links here (or with `npm run agent-link`); the page only ever sees the token. */
@Controller('admin/agent-links')
@UseGuards(AdminAuthGuard)
export class AgentLinksController {
  constructor(private readonly links: AgentLinks) {}

  @Post()
  mint(@Body() body: unknown, @Req() req: FastifyRequest) {
    const parsed = mintBody.safeParse(body ?? {});
    if (!parsed.success) throw new BadRequestException(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const link = this.links.mint(parsed.data.extensions, parsed.data.ttlHours);
    const path = `/agent?token=${link.token}`;
    // As the admin reached us: behind a proxy that rewrites the host, set TRUST_PROXY or use `path`.
    return { ...link, path, url: `${req.protocol}://${req.host}${path}` };
  }
}
