import { BadGatewayException, BadRequestException, Body, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Post, Query, UseGuards } from '@nestjs/common';
import { Job, Queue } from 'bullmq';
import { z } from 'zod';
import { CallStateService } from '../calls/call-state.service';
import { ConfigError, ConfigExpansionError, parseConfig } from '../config/config.loader';
import { ConfigStore } from '../config/config.store';
import { APP_ENV } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { ConnectionPauseService } from '../crm/connection-pause.service';
import { CrmError } from '../crm/crm-provider';
import { CrmRegistry } from '../crm/crm-registry.service';
import { LookupService } from '../crm/lookup.service';
import { phoneQuery } from '../crm/phone';
import { MappingService } from '../mappings/mapping.service';
import { EventQueueService } from '../queue/event-queue.service';
import { QueueName } from '../queue/queues';
import { AdminAuthGuard } from './admin-auth.guard';
import { shownCall } from './shown-call';

const lookupBody = z.object({ connection: z.string().min(1), number: z.string().min(1).max(64), country: z.string().length(2).optional(), fresh: z.boolean().optional() }).strict();
const replayBody = z.object({ queue: z.enum(QueueName).default(QueueName.CallLog), ids: z.array(z.string()).optional() }).strict();

/** What ops need without reading code or restarting: config, mappings, lookups, failed jobs, recent calls. */
@Controller('admin')
@UseGuards(AdminAuthGuard)
export class AdminController {
  constructor(
    private readonly store: ConfigStore,
    private readonly mappings: MappingService,
    private readonly crm: CrmRegistry,
    private readonly lookups: LookupService,
    private readonly pauses: ConnectionPauseService,
    private readonly queues: EventQueueService,
    private readonly calls: CallStateService,
    @Inject(APP_ENV) private readonly env: AppEnv,
  ) {}

  /** The active configuration (it holds no secrets: only the names of the variables that do). */
  @Get('config')
  config() {
    return { file: this.store.file, loadedAt: new Date(this.store.loadedAt).toISOString(), lastRefusedReload: this.store.lastError, config: this.store.current };
  }

  /** Checks a configuration (YAML in the body, or {yaml}) without applying it. */
  @Post('config/validate')
  @HttpCode(200)
  validate(@Body() body: unknown) {
    const yaml = typeof body === 'string' ? body : (body as { yaml?: unknown } | undefined)?.yaml;
    if (typeof yaml !== 'string') throw new BadRequestException('Send the YAML as the body (Content-Type: application/yaml) or as {"yaml": "..."}.');
    try {
      parseConfig(yaml, 'posted configuration', this.env.secret);
      return { valid: true, problems: [] };
    } catch (err) {
      if (err instanceof ConfigExpansionError) throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: 'The YAML was refused before validation.', problems: err.problems });
      if (err instanceof ConfigError) return { valid: false, problems: err.problems };
      throw err;
    }
  }

  @Post('config/reload')
  @HttpCode(200)
  reload() {
    const result = this.store.reload('admin API');
    if (!result.ok) throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: 'The configuration file was refused; the previous one keeps serving.', problems: result.error });
    return { reloaded: true, loadedAt: new Date(this.store.loadedAt).toISOString() };
  }

  /** Which rule matched an extension and the settings that result. */
  @Get('mappings/resolve')
  resolve(@Query('extension') extension?: string) {
    if (!extension || !/^\d{1,12}(\*\d{1,12})?$/.test(extension)) throw new BadRequestException('Give ?extension=0003*210 (an extended or short extension number).');
    return this.mappings.resolve(extension);
  }

  /** Looks a number up on a connection: the forms searched and the matches. */
  @Post('lookup')
  @HttpCode(200)
  async lookup(@Body() body: unknown) {
    const parsed = lookupBody.safeParse(body);
    if (!parsed.success) throw new BadRequestException(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const { connection, number, country, fresh } = parsed.data;
    if (!this.crm.names().includes(connection)) throw new NotFoundException(`Unknown connection "${connection}". Known: ${this.crm.names().join(', ')}.`);
    const query = phoneQuery(number, country);
    if (!query) return { query: null, matches: [], note: 'not an external phone number (an extension, anonymous or empty): never looked up' };
    if (fresh) await this.lookups.invalidate(connection, query);
    const started = Date.now();
    try {
      const result = await this.lookups.lookup(connection, query);
      return { query, cached: result.cached, ms: Date.now() - started, matches: result.matches };
    } catch (err) {
      // The CRM's refusal is the answer ops asked for (bad token, quota): say what it was, not "500".
      if (!(err instanceof CrmError)) throw err;
      throw new BadGatewayException({ statusCode: 502, error: 'Bad Gateway', message: `${connection} refused the lookup (${err.kind}): ${err.message}`, kind: err.kind, query });
    }
  }

  @Delete('lookup-cache')
  async forget(@Query('connection') connection?: string, @Query('number') number?: string, @Query('country') country?: string) {
    const query = phoneQuery(number, country);
    if (!connection || !query) throw new BadRequestException('Give ?connection=NAME&number=NUMBER[&country=US].');
    return { forgotten: await this.lookups.invalidate(connection, query) };
  }

  @Get('jobs/failed')
  async failed(@Query('queue') queue = QueueName.CallLog, @Query('limit') limit = '100') {
    const jobs = await this.queue(queue).getFailed(0, Math.min(1000, Number(limit) || 100) - 1);
    return { queue, total: await this.queue(queue).getFailedCount(), jobs: jobs.map(describeJob) };
  }

  /** Retries failed jobs: the given ids, or all of them. */
  @Post('jobs/failed/replay')
  @HttpCode(200)
  async replay(@Body() body: unknown) {
    const parsed = replayBody.safeParse(body ?? {});
    if (!parsed.success) throw new BadRequestException(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const q = this.queue(parsed.data.queue);
    const jobs = parsed.data.ids ? await Promise.all(parsed.data.ids.map((id) => q.getJob(id))) : await q.getFailed(0, 9999);
    const replayed: string[] = [];
    for (const job of jobs) {
      if (job && (await job.isFailed())) {
        await job.retry('failed');
        // A job read back from the queue always has its id.
        if (job.id) replayed.push(job.id);
      }
    }
    return { replayed };
  }

  @Delete('jobs/failed/:id')
  async discard(@Param('id') id: string, @Query('queue') queue = QueueName.CallLog) {
    const job = await this.queue(queue).getJob(id);
    if (!job || !(await job.isFailed())) throw new NotFoundException(`No failed job ${id} in ${queue}.`);
    await job.remove();
    return { discarded: id };
  }

  @Post('connections/:name/pause')
  @HttpCode(200)
  async pause(@Param('name') name: string, @Body() body?: { minutes?: number }) {
    this.connection(name);
    const minutes = Math.min(7 * 24 * 60, Math.max(1, Number(body?.minutes) || 60));
    await this.pauses.pause(name, Date.now() + minutes * 60_000, 'paused by ops');
    return { paused: name, until: new Date(Date.now() + minutes * 60_000).toISOString() };
  }

  @Post('connections/:name/resume')
  @HttpCode(200)
  async resume(@Param('name') name: string) {
    this.connection(name);
    await this.pauses.resume(name);
    return { resumed: name };
  }

  /** The last calls with what happened to each: popped, logged as which record, or skipped because... */
  @Get('calls/recent')
  async recent(@Query('limit') limit = '50') {
    // Numbers masked unless ADMIN_FULL_NUMBERS, as everywhere in the admin API.
    return { calls: (await this.calls.recent(Math.min(500, Number(limit) || 50))).map((call) => shownCall(call, this.env.adminFullNumbers)) };
  }

  private queue(name: string): Queue {
    if (name === QueueName.CallLog) return this.queues.callLog;
    if (name === QueueName.ScreenPop) return this.queues.screenPop;
    throw new BadRequestException(`Unknown queue "${name}". Queues: ${Object.values(QueueName).join(', ')}.`);
  }

  private connection(name: string) {
    if (!this.crm.names().includes(name)) throw new NotFoundException(`Unknown connection "${name}". Known: ${this.crm.names().join(', ')}.`);
  }
}

function describeJob(job: Job) {
  return {
    id: job.id,
    name: job.name,
    data: job.data as unknown,
    failedReason: job.failedReason,
    attemptsMade: job.attemptsMade,
    createdAt: new Date(job.timestamp).toISOString(),
    finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : undefined,
  };
}
