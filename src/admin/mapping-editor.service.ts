import { BadRequestException, ConflictException, ForbiddenException, Inject, Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { Logger } from 'pino';
import { parseDocument } from 'yaml';
import { ConfigError, parseConfig } from '../config/config.loader';
import { ConfigStore } from '../config/config.store';
import { APP_ENV, LOGGER } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { applyRuleChange, RuleChange } from './yaml-rule-edit';

/**
 * Mapping rules edited from the admin API, saved back to the configuration file. The edited file
 * passes the same validation as at start (parseConfig, every problem with its line) before it is
 * written; a refused edit writes nothing. Saving is guarded by the file's version (a hash of its
 * text) so an edit made on an older copy cannot overwrite someone else's. ADMIN_CONFIG_EDITING=off
 * turns it off (a configuration managed in git).
 */
@Injectable()
export class MappingEditor {
  constructor(
    private readonly store: ConfigStore,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  get editable(): boolean {
    return this.env.adminConfigEditing;
  }

  /** The rules as written in the file (not as resolved), its version, and whether it may be edited here. */
  read() {
    const text = readFileSync(this.env.configFile, 'utf8');
    const raw = (parseDocument(text).toJS() ?? {}) as { mappings?: Record<string, unknown> };
    return {
      file: this.shownFile(),
      version: versionOf(text),
      editable: this.editable,
      ...(this.editable ? {} : { whyNotEditable: 'Editing is switched off on this deployment (ADMIN_CONFIG_EDITING=off): change the file where it is managed.' }),
      connections: Object.keys(this.store.current.connections),
      mappings: { defaults: raw.mappings?.defaults ?? null, organisations: raw.mappings?.organisations ?? {}, extensions: raw.mappings?.extensions ?? {} },
      lastRefusedReload: this.store.lastError,
    };
  }

  /** Applies one rule change to the file and reloads it; 400 with the problems (nothing written), 409 on a stale version. */
  save(change: RuleChange, version: string) {
    if (!this.editable)
      throw new ForbiddenException('Mapping edits are switched off on this deployment (ADMIN_CONFIG_EDITING=off). Change the configuration where it is managed (e.g. in git) and deploy it.');
    const file = this.env.configFile;
    const text = readFileSync(file, 'utf8');
    if (versionOf(text) !== version)
      throw new ConflictException({
        statusCode: 409,
        error: 'Conflict',
        message: 'The configuration file changed since you opened it. Reload the mappings and make your edit again.',
        version: versionOf(text),
      });
    let next: string;
    try {
      next = applyRuleChange(text, change);
    } catch (err) {
      throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: `The edit cannot be applied: ${(err as Error).message}.`, problems: [] });
    }
    try {
      parseConfig(next, this.shownFile(), this.env.secret);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: 'The edit was refused; the file was not changed.', problems: err.problems });
    }
    writeAtomically(file, next);
    const reloaded = this.store.reload('admin mapping edit');
    if (!reloaded.ok) {
      // Valid on its own but refused when applied (a connection that cannot be built): put the file back.
      writeAtomically(file, text);
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: 'The edit was refused when applied; the file was put back as it was.',
        problems: [{ path: '', message: reloaded.error }],
      });
    }
    const where = change.level === 'defaults' ? 'mappings.defaults' : `mappings.${change.level}.${change.key ?? ''}`;
    this.log.info({ event: 'config.mapping_edited', rule: where, removed: change.rule === null }, 'mapping rule edited from the admin API');
    return { saved: where, removed: change.rule === null, version: versionOf(next), loadedAt: new Date(this.store.loadedAt).toISOString() };
  }

  private shownFile(): string {
    const shown = relative(process.cwd(), this.env.configFile);
    return shown && !shown.startsWith('..') ? shown : this.env.configFile;
  }
}

export function versionOf(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

/** A reader (the file watcher, another instance) never sees half a file: write beside it, then rename over it. */
function writeAtomically(file: string, text: string) {
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, text, { mode: statSync(file).mode & 0o777 });
  renameSync(temp, file);
}
