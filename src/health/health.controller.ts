import { Controller, Get, Optional, ServiceUnavailableException } from '@nestjs/common';
import { CallStateService } from '../calls/call-state.service';
import { ConnectionPauseService } from '../crm/connection-pause.service';
import { CrmHealth } from '../crm/crm-provider';
import { CrmRegistry } from '../crm/crm-registry.service';
import { pingSlotOf } from '../queue/redis';
import { SpoolService } from '../spool/spool.service';

/** CRM health is asked at most this often: readiness probes must not spend the CRM's API quota. */
const CRM_HEALTH_TTL_MS = 30_000;

/**
 * Liveness: the process answers. Readiness: it can make events durable: Redis answers, or (in a
 * process that serves the ingest) the local spool can still take them; 503 when neither. The
 * spool's state (spooling, events waiting, age of the oldest) is reported either way. Each CRM connection's auth state and any pause are reported alongside: a CRM outage
 * delays logging but must not stop VoipNow's events from being accepted.
 */
@Controller('health')
export class HealthController {
  private readonly crmHealth = new Map<string, { at: number; health: CrmHealth }>();

  constructor(
    private readonly calls: CallStateService,
    private readonly crm: CrmRegistry,
    private readonly pauses: ConnectionPauseService,
    @Optional() private readonly spool?: SpoolService,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready() {
    const started = Date.now();
    try {
      await Promise.race([
        // The request path's connection, in the slot of the connector's keys (a Cluster's other nodes may answer while it is down).
        pingSlotOf(this.calls.redis, this.calls.recentKey()),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 500 ms')), 500).unref()),
      ]);
    } catch (err) {
      const redis = { ok: false, error: (err as Error).message };
      const spool = this.spool?.status();
      // Still ready while the spool keeps events: a load balancer that took every instance out would lose them all.
      // (No CRM report here: pauses are kept in Redis.)
      if (spool?.enabled && !spool.full) return { status: 'spooling', redis, spool };
      throw new ServiceUnavailableException({ statusCode: 503, status: 'unavailable', redis, ...(spool ? { spool } : {}) });
    }
    const redis = { ok: true, latencyMs: Date.now() - started };
    return { status: 'ready', redis, ...(this.spool ? { spool: this.spool.status() } : {}), crm: await this.crmStatus() };
  }

  private async crmStatus() {
    const entries = await Promise.all(
      this.crm.names().map(async (name) => {
        const [health, paused] = await Promise.all([this.health(name), this.pauses.pausedUntil(name).catch(() => undefined)]);
        return [name, { ...health, ...(paused ? { pausedUntil: new Date(paused.until).toISOString(), pauseReason: paused.reason } : {}) }] as const;
      }),
    );
    return Object.fromEntries(entries);
  }

  private async health(name: string): Promise<CrmHealth> {
    const cached = this.crmHealth.get(name);
    if (cached && Date.now() - cached.at < CRM_HEALTH_TTL_MS) return cached.health;
    const health = await Promise.race([
      this.crm
        .get(name)
        .health()
        .catch((err: Error) => ({ ok: false, detail: err.message })),
      new Promise<CrmHealth>((r) => setTimeout(() => r({ ok: false, detail: 'health check timed out after 2 s' }), 2000).unref()),
    ]);
    this.crmHealth.set(name, { at: Date.now(), health });
    return health;
  }
}
