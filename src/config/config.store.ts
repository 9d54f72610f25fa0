import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Logger } from 'pino';
import { ConfigError, loadConfigFile } from './config.loader';
import { ConnectorConfig } from './config.schema';
import { APP_ENV, CONNECTOR_CONFIG, LOGGER } from './config.tokens';
import { AppEnv } from './env';

export type ConfigListener = (next: ConnectorConfig, previous: ConnectorConfig) => void;

/**
 * The active configuration. Reloaded on SIGHUP, when the file changes, or from the admin API;
 * an invalid new file is refused and logged, and the last good configuration keeps serving.
 * Worker concurrency and ingest limits are read at start only.
 */
@Injectable()
export class ConfigStore implements OnApplicationBootstrap, OnApplicationShutdown {
  private config: ConnectorConfig;
  private listeners: ConfigListener[] = [];
  private watcher?: FSWatcher;
  private debounce?: NodeJS.Timeout;
  loadedAt = Date.now();
  lastError?: { at: number; message: string };
  private readonly onSighup = () => void this.reload('SIGHUP');

  constructor(
    @Inject(CONNECTOR_CONFIG) initial: ConnectorConfig,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.config = initial;
  }

  get current(): ConnectorConfig {
    return this.config;
  }

  get file(): string {
    return this.env.configFile;
  }

  onChange(listener: ConfigListener) {
    this.listeners.push(listener);
  }

  /** Loads the file again; returns the problems when it is refused. */
  reload(trigger: string): { ok: true } | { ok: false; error: string } {
    let next: ConnectorConfig;
    try {
      next = loadConfigFile(this.env.configFile, this.env.secret);
    } catch (err) {
      const message = err instanceof ConfigError ? err.message : (err as Error).message;
      this.lastError = { at: Date.now(), message };
      this.log.error({ event: 'config.refused', trigger, file: this.env.configFile, problems: message }, 'new configuration refused; the previous one keeps serving');
      return { ok: false, error: message };
    }
    const previous = this.config;
    try {
      for (const listener of this.listeners) listener(next, previous);
    } catch (err) {
      for (const listener of this.listeners) listener(previous, next);
      const message = (err as Error).message;
      this.lastError = { at: Date.now(), message };
      this.log.error({ event: 'config.refused', trigger, err: message }, 'new configuration refused; the previous one keeps serving');
      return { ok: false, error: message };
    }
    this.config = next;
    this.loadedAt = Date.now();
    this.lastError = undefined;
    this.log.info({ event: 'config.reloaded', trigger, file: this.env.configFile, connections: Object.keys(next.connections).length }, 'configuration reloaded');
    return { ok: true };
  }

  onApplicationBootstrap() {
    process.on('SIGHUP', this.onSighup);
    // Watch the directory, not the file: editors and Kubernetes ConfigMaps replace the file.
    try {
      const name = basename(this.env.configFile);
      this.watcher = watch(dirname(this.env.configFile), (_type, changed) => {
        if (changed !== name) return;
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => this.reload('file change'), 200);
      });
      this.watcher.on('error', () => undefined);
    } catch (err) {
      this.log.warn({ event: 'config.watch_failed', err: (err as Error).message }, 'config file not watched; reload with SIGHUP or the admin API');
    }
  }

  onApplicationShutdown() {
    process.off('SIGHUP', this.onSighup);
    clearTimeout(this.debounce);
    this.watcher?.close();
  }
}
