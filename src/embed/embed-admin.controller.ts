import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Post, UseGuards } from '@nestjs/common';
import { Logger } from 'pino';
import { z } from 'zod';
import { AdminAuthGuard } from '../admin/admin-auth.guard';
import { LOGGER } from '../config/config.tokens';
import { extensionsSchema } from '../screen-pop/agent-token';
import { PanelBindings } from './panel-bindings.service';

const codeTtl = z
  .number()
  .positive()
  .max(24 * 30)
  .optional();
const createBody = z
  .object({
    extensions: extensionsSchema,
    /** Who and where, for ops' list: "Ann Lee, Salesforce". */
    label: z.string().trim().min(1, 'give the binding a label (who and where)').max(80, 'a label is at most 80 characters'),
    /** How long the pairing code works (default 72 h); the binding itself lasts until revoked. */
    codeTtlHours: codeTtl,
  })
  .strict();
const codeBody = z.object({ codeTtlHours: codeTtl }).strict();

/** Ops bind CRM panels to extensions here, list them, and revoke them. */
@Controller('admin/embed/bindings')
@UseGuards(AdminAuthGuard)
export class EmbedAdminController {
  constructor(
    private readonly bindings: PanelBindings,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  @Post()
  async create(@Body() body: unknown) {
    const input = parse(createBody, body);
    const created = await this.bindings.create(input.extensions, input.label, input.codeTtlHours ?? 72);
    this.log.info({ event: 'embed.binding.created', binding: created.binding.id, extensions: created.binding.extensions }, 'CRM panel binding created');
    return created;
  }

  @Get()
  async list() {
    return { bindings: await this.bindings.list() };
  }

  /** A new pairing code for the binding (a new browser); the panel that pairs with it replaces the old one. */
  @Post(':id/code')
  async code(@Param('id') id: string, @Body() body: unknown) {
    const input = parse(codeBody, body);
    const created = await this.bindings.newCode(id, input.codeTtlHours ?? 72);
    if (!created) throw new NotFoundException(`No panel binding ${id}.`);
    this.log.info({ event: 'embed.binding.code', binding: id }, 'new pairing code for a CRM panel binding');
    return created;
  }

  @Delete(':id')
  @HttpCode(204)
  async revoke(@Param('id') id: string) {
    if (!(await this.bindings.revoke(id))) throw new NotFoundException(`No panel binding ${id}.`);
    this.log.info({ event: 'embed.binding.revoked', binding: id }, 'CRM panel binding revoked');
  }
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw new BadRequestException(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return parsed.data;
}
