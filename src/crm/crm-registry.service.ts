import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { dirname } from 'node:path';
import { Logger } from 'pino';
import { ConnectorConfig } from '../config/config.schema';
import { ConfigStore } from '../config/config.store';
import { APP_ENV, LOGGER } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { RedisClient } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { SHARED_REDIS } from '../redis/redis.tokens';
import { CrmProvider } from './crm-provider';
import { Disposition } from './provider-definition';
import { CRM_PROVIDERS } from './providers';
import { splitSecrets } from '../screen-pop/agent-token';
import { signRecordPath } from './record-signature';
import { RequestBudget } from './request-budget';

/** The one place that turns configured connections into providers and hands them out by name. */
@Injectable()
export class CrmRegistry implements OnApplicationShutdown {
  private readonly providers = new Map<string, CrmProvider>();
  // Looked up by names from mappings, jobs and requests: any of them may be unknown.
  private settings: Partial<ConnectorConfig['connections']> = {};

  constructor(
    @Inject(APP_ENV) private readonly env: AppEnv,
    store: ConfigStore,
    @Inject(LOGGER) private readonly log: Logger,
    // Handed to the providers (their session, token and lock keys) and the request budgets.
    @Inject(SHARED_REDIS) private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {
    this.load(store.current);
    // A connection that cannot be built (bad settings, missing secret) refuses the whole reload.
    store.onChange((next) => this.load(next));
  }

  /** (Re)creates providers for the connections in `config`; used at start and on reload. */
  load(config: ConnectorConfig) {
    const next = new Map<string, CrmProvider>();
    for (const [name, settings] of Object.entries(config.connections)) {
      const definition = CRM_PROVIDERS.find((p) => p.type === settings.type);
      if (!definition) throw new Error(`Connection "${name}" has type "${settings.type}", which no provider handles. Known: ${CRM_PROVIDERS.map((p) => p.type).join(', ')}.`);
      const limits = settings.rateLimit ?? definition.defaultBudget;
      next.set(
        name,
        definition.createFor(name, settings, {
          budget: limits ? new RequestBudget(this.redis, this.keys.budget(name), limits) : undefined,
          secret: (envName) => {
            const value = this.env.secret(envName);
            if (!value) throw new Error(`Connection "${name}" needs ${envName} (or ${envName}_FILE) in the environment.`);
            return value;
          },
          redis: this.redis,
          signRecordPath: (path) => signRecordPath(splitSecrets(this.env.agentLinkSecret)[0] ?? '', path),
          keyPrefix: this.keys.crm(name).prefix,
          logger: this.log.child({ connection: name, crm: settings.type }),
          configDir: dirname(this.env.configFile),
        }),
      );
    }
    const previous = [...this.providers.values()];
    this.settings = config.connections;
    this.providers.clear();
    for (const [name, provider] of next) this.providers.set(name, provider);
    for (const p of previous) void p.close?.();
  }

  get(connection: string): CrmProvider {
    const provider = this.providers.get(connection);
    if (!provider) throw new Error(`Unknown CRM connection "${connection}". Known: ${[...this.providers.keys()].join(', ') || 'none'}.`);
    return provider;
  }

  /** What agents and ops read for the connection: its `displayName`, else its key. */
  displayName(connection: string): string {
    return this.settings[connection]?.displayName ?? connection;
  }

  /** The dispositions the card offers on the connection: its own list, else its CRM type's defaults. */
  dispositions(connection: string): Disposition[] {
    const settings = this.settings[connection];
    if (!settings) return [];
    return settings.dispositions ?? CRM_PROVIDERS.find((p) => p.type === settings.type)?.defaultDispositions ?? [];
  }

  names(): string[] {
    return [...this.providers.keys()];
  }

  async onApplicationShutdown() {
    await Promise.allSettled([...this.providers.values()].map((p) => p.close?.()));
  }
}
