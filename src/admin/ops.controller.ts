import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { CallStateService, RECENT_CALLS_KEPT } from '../calls/call-state.service';
import { APP_ENV } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { EXTENSION_PATTERN, ORGANISATION_PATTERN } from '../mappings/mapping.schema';
import { AgentLinks } from '../screen-pop/agent-links.service';
import { AdminAuthGuard } from './admin-auth.guard';
import { MappingEditor } from './mapping-editor.service';
import { OpsOverviewService } from './ops-overview.service';
import { shownCall } from './shown-call';
import { UnloggedCallsService } from './unlogged-calls.service';

const jobIds = z.array(z.string().min(1).max(300)).min(1, 'give at least one job id').max(1000);
const replayBody = z.object({ ids: jobIds }).strict();
const discardBody = z.object({ ids: jobIds, reason: z.string().trim().min(3, 'say why (at least 3 characters)').max(500) }).strict();
const ruleBody = z
  .object({
    level: z.enum(['defaults', 'organisations', 'extensions']),
    key: z.string().max(40).optional(),
    /** The whole rule as it should be; null removes it. Checked like the file (unknown keys, owner shape, connection names...). */
    rule: z.record(z.string(), z.unknown()).nullable(),
    version: z.string().min(1).max(100),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.level === 'defaults' && b.key !== undefined) ctx.addIssue({ code: 'custom', path: ['key'], message: 'defaults has no key' });
    if (b.level === 'organisations' && !ORGANISATION_PATTERN.test(b.key ?? '')) ctx.addIssue({ code: 'custom', path: ['key'], message: 'an organisation key is a wildcard like 0003*' });
    if (b.level === 'extensions' && !EXTENSION_PATTERN.test(b.key ?? '')) ctx.addIssue({ code: 'custom', path: ['key'], message: 'an extension key is like 0003*210 (or a short 210)' });
  });
const searchQuery = z
  .object({
    number: z
      .string()
      .trim()
      .regex(/^\+?[\d\s().-]{3,32}$/, 'a number of at least 3 digits')
      .optional(),
    extension: z.string().trim().regex(EXTENSION_PATTERN, 'an extension like 0003*210').optional(),
    callId: z.string().trim().min(1).max(128).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

function parsed<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new BadRequestException(result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return result.data;
}

/**
 * What the ops console needs beyond the original admin routes: an overview, the unlogged-calls
 * inbox with replay and discard, mapping edits, call search, and issued agent links. Plain JSON
 * routes behind the admin token, usable without the console.
 */
@Controller('admin')
@UseGuards(AdminAuthGuard)
export class OpsController {
  constructor(
    private readonly overviews: OpsOverviewService,
    private readonly unlogged: UnloggedCallsService,
    private readonly editor: MappingEditor,
    private readonly calls: CallStateService,
    private readonly links: AgentLinks,
    @Inject(APP_ENV) private readonly env: AppEnv,
  ) {}

  /** Connections (state, health, budget), calls in the last hour and day, queue depths, agent pages. */
  @Get('overview')
  overview(@Query('fresh') fresh?: string) {
    return this.overviews.overview(fresh === 'true');
  }

  /** Every call that was not logged, grouped by why. */
  @Get('unlogged')
  async inbox() {
    const calls = await this.unlogged.list();
    return { total: calls.length, groups: this.unlogged.grouped(calls) };
  }

  /** Re-runs the calls' own call-log jobs (never a second job): a call already in the CRM is not logged again. */
  @Post('unlogged/replay')
  @HttpCode(200)
  replay(@Body() body: unknown) {
    return this.unlogged.replay(parsed(replayBody, body).ids);
  }

  @Post('unlogged/discard')
  @HttpCode(200)
  discard(@Body() body: unknown) {
    const { ids, reason } = parsed(discardBody, body);
    return this.unlogged.discard(ids, reason);
  }

  /** Where a replayed call stands: its job's state and the latest note on the call. */
  @Get('unlogged/:jobId')
  async result(@Param('jobId') jobId: string) {
    const result = await this.unlogged.result(jobId);
    if (!result) throw new NotFoundException(`No call-log job ${jobId}.`);
    return result;
  }

  /** Recent calls by number (its digits anywhere in a party's number), extension or CallID (none: the latest), with what was done at each step. */
  @Get('calls/search')
  async search(@Query() query: unknown) {
    const q = parsed(searchQuery, query);
    const digits = q.number?.replace(/\D/g, '');
    const found = (await this.calls.recent(RECENT_CALLS_KEPT)).filter(
      (c) =>
        (!digits || [c.remoteNumber, c.caller.number, c.callee.number].some((n) => n?.replace(/\D/g, '').includes(digits))) &&
        (!q.extension || c.extension === q.extension) &&
        (!q.callId || c.callId === q.callId),
    );
    return {
      searched: `the last ${RECENT_CALLS_KEPT} calls`,
      calls: found.slice(0, q.limit).map((call) => shownCall(call, this.env.adminFullNumbers)),
    };
  }

  /** The mapping rules as written in the file, its version, and whether edits are allowed here. */
  @Get('mappings')
  mappings() {
    return this.editor.read();
  }

  /** Sets (or with rule: null removes) one rule in the file, validated like the file, then reloads it. */
  @Put('mappings/rule')
  saveRule(@Body() body: unknown) {
    const { version, ...change } = parsed(ruleBody, body);
    return this.editor.save(change, version);
  }

  /** The agent links issued with an id (POST /admin/agent-links) that have not expired; never their tokens. */
  @Get('agent-links')
  async agentLinks(@Query('extension') extension?: string) {
    if (extension !== undefined && !EXTENSION_PATTERN.test(extension)) throw new BadRequestException('extension: an extended (0003*210) or short (210) extension number.');
    return { links: await this.links.list(extension) };
  }

  /** Revokes an issued link: its open pages are cut off and it is refused (403) from then on, on every instance. */
  @Delete('agent-links/:id')
  async revokeLink(@Param('id') id: string) {
    const link = /^[A-Za-z0-9_-]{1,64}$/.test(id) ? await this.links.revoke(id) : undefined;
    if (!link) throw new NotFoundException(`No issued agent link ${id}. (Links without an id, such as those from npm run agent-link, are revoked by rotating AGENT_LINK_SECRET.)`);
    return { revoked: link };
  }
}
