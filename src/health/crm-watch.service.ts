import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Logger } from 'pino';
import { Gauge } from 'prom-client';
import { LOGGER } from '../config/config.tokens';
import { ConnectionPauseService } from '../crm/connection-pause.service';
import { CrmHealth } from '../crm/crm-provider';
import { CrmRegistry } from '../crm/crm-registry.service';
import { MetricsService } from '../metrics/metrics.service';

/** CRM health is asked at most this often: readiness probes and scrapes must not spend the CRM's API quota. */
export const CRM_HEALTH_TTL_MS = 30_000;
const HEALTH_TIMEOUT_MS = 2000;

type Pause = { until: number; reason: string };
const UNREAD = Symbol('pause not read');

export interface ConnectionStatus {
  ok: boolean;
  detail?: string;
  pausedUntil?: string;
  pauseReason?: string;
}

/**
 * Watches every CRM connection (its health check, at most every 30 s, and any pause) so a
 * credential that stops working or a paused connection is seen without anyone asking: in
 * readiness, in `vncc_crm_connection_up` / `vncc_crm_connection_paused`, and as one log line
 * when the state changes (`crm.unhealthy` / `crm.healthy`, `crm.connection_paused` /
 * `crm.connection_resumed`), not one per check.
 */
@Injectable()
export class CrmWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly health = new Map<string, { at: number; health: CrmHealth; pending?: Promise<CrmHealth> }>();
  private readonly paused = new Map<string, string | undefined>();
  private readonly lastPause = new Map<string, Pause | undefined>();
  private readonly up: Gauge;
  private readonly pausedGauge: Gauge;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly crm: CrmRegistry,
    private readonly pauses: ConnectionPauseService,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
  ) {
    this.up = new Gauge({
      name: 'vncc_crm_connection_up',
      help: "1 while the CRM connection's health check passes (it authenticates and reaches the API), 0 when it fails",
      labelNames: ['connection'],
      registers: [metrics.registry],
    });
    this.pausedGauge = new Gauge({
      name: 'vncc_crm_connection_paused',
      help: "1 while the connection's call logging is paused (quota exhausted, or by ops)",
      labelNames: ['connection'],
      registers: [metrics.registry],
    });
    // A scrape sees the state of the moment (health from the 30 s cache, pauses read from Redis).
    metrics.addCollector(() => this.check());
  }

  onApplicationBootstrap() {
    void this.check();
    this.timer = setInterval(() => void this.check(), CRM_HEALTH_TTL_MS).unref();
  }

  onApplicationShutdown() {
    clearInterval(this.timer);
  }

  /** Each connection's health (cached for 30 s) and pause, as readiness shows them. */
  async status(): Promise<Record<string, ConnectionStatus>> {
    const entries = await Promise.all(this.crm.names().map(async (name) => [name, await this.statusOf(name)] as const));
    return Object.fromEntries(entries);
  }

  private async check(): Promise<void> {
    await this.status().catch(() => undefined);
  }

  private async statusOf(name: string): Promise<ConnectionStatus> {
    // Bounded: the pause is read from Redis, whose connection waits out an outage, and a scrape of /metrics must still answer then.
    const [health, read] = await Promise.all([this.healthOf(name), this.pauseOf(name)]);
    // Unread (Redis away): the last known state stands, so an outage logs no false "resumed".
    const paused = read === UNREAD ? this.lastPause.get(name) : read;
    if (read !== UNREAD) this.notePause(name, read);
    return { ok: health.ok, detail: health.detail, ...(paused ? { pausedUntil: new Date(paused.until).toISOString(), pauseReason: paused.reason } : {}) };
  }

  private async healthOf(name: string): Promise<CrmHealth> {
    const cached = this.health.get(name);
    if (cached?.pending) return cached.pending;
    if (cached && Date.now() - cached.at < CRM_HEALTH_TTL_MS) return cached.health;
    const pending = this.ask(name).then((health) => {
      this.noteHealth(name, cached?.health, health);
      this.health.set(name, { at: Date.now(), health });
      return health;
    });
    this.health.set(name, { at: cached?.at ?? 0, health: cached?.health ?? { ok: false, detail: 'not checked yet' }, pending });
    return pending;
  }

  private async pauseOf(name: string): Promise<Pause | undefined | typeof UNREAD> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([this.pauses.pausedUntil(name).catch((): typeof UNREAD => UNREAD), new Promise<typeof UNREAD>((r) => (timer = setTimeout(() => r(UNREAD), HEALTH_TIMEOUT_MS)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async ask(name: string): Promise<CrmHealth> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.crm
          .get(name)
          .health()
          .catch((err: unknown) => ({ ok: false, detail: (err as Error).message })),
        new Promise<CrmHealth>((r) => (timer = setTimeout(() => r({ ok: false, detail: `health check timed out after ${HEALTH_TIMEOUT_MS / 1000} s` }), HEALTH_TIMEOUT_MS))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private noteHealth(name: string, before: CrmHealth | undefined, now: CrmHealth) {
    this.up.set({ connection: name }, now.ok ? 1 : 0);
    if (!now.ok && (before === undefined || before.ok)) {
      this.log.error(
        { event: 'crm.unhealthy', connection: name, detail: now.detail },
        `CRM connection "${name}" fails its health check (${now.detail ?? 'no detail given'}): lookups fail and call logs wait until it is fixed (check its credentials)`,
      );
    } else if (now.ok && before && !before.ok) {
      this.log.info({ event: 'crm.healthy', connection: name }, `CRM connection "${name}" passes its health check again`);
    }
  }

  private notePause(name: string, paused: Pause | undefined) {
    this.lastPause.set(name, paused);
    this.pausedGauge.set({ connection: name }, paused ? 1 : 0);
    const was = this.paused.get(name);
    const now = paused ? `${paused.until} ${paused.reason}` : undefined;
    this.paused.set(name, now);
    if (paused && now !== was) {
      this.log.warn(
        { event: 'crm.connection_paused', connection: name, until: new Date(paused.until).toISOString(), reason: paused.reason },
        `CRM connection "${name}" is paused until ${new Date(paused.until).toISOString()} (${paused.reason}): its call logs wait`,
      );
    } else if (!now && was) {
      this.log.info({ event: 'crm.connection_resumed', connection: name }, `CRM connection "${name}" is no longer paused`);
    }
  }
}
