import { BadRequestException, Body, Controller, Inject, Post, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { AdminAuthGuard } from '../admin/admin-auth.guard';
import { APP_ENV } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { AgentLinks } from './agent-links.service';
import { extensionsSchema } from './agent-token';

const mintBody = z
  .object({
    extensions: extensionsSchema,
    /** Omitted: the link does not expire (revoke it with DELETE /admin/agent-links/:id). */
    ttlHours: z
      .number()
      .positive()
      .max(24 * 366)
      .optional(),
  })
  .strict();

/** Ops mint agent links here (or with `npm run agent-link`); the page only ever sees the token. */
@Controller('admin/agent-links')
@UseGuards(AdminAuthGuard)
export class AgentLinksController {
  constructor(
    private readonly links: AgentLinks,
    @Inject(APP_ENV) private readonly env: AppEnv,
  ) {}

  /** Issued with an id: listed by GET /admin/agent-links and revocable with DELETE /admin/agent-links/:id. */
  @Post()
  async mint(@Body() body: unknown) {
    const parsed = mintBody.safeParse(body ?? {});
    if (!parsed.success) throw new BadRequestException(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const link = await this.links.issue(parsed.data.extensions, parsed.data.ttlHours);
    const path = `/agent?token=${link.token}`;
    // PUBLIC_URL, never the request's Host header: whoever sends the request chooses that, and a
    // link pointing elsewhere would hand the agent's token to that host.
    if (!this.env.publicUrl) return { ...link, path, url: null, note: 'Set PUBLIC_URL (e.g. https://connector.example.com) to get full links; prefix `path` with it meanwhile.' };
    return { ...link, path, url: `${this.env.publicUrl}${path}` };
  }
}
