import { Inject, Injectable } from '@nestjs/common';
import { APP_ENV } from '../config/config.tokens';
import { ConfigStore } from '../config/config.store';
import { AppEnv } from '../config/env';
import { CrmError } from '../crm/crm-provider';
import { CrmRegistry } from '../crm/crm-registry.service';
import { resolveMapping, ResolvedMapping } from './resolve-mapping';

/** Resolves extensions against the active mappings, and mapping owners to CRM user ids. */
@Injectable()
export class MappingService {
  constructor(
    private readonly store: ConfigStore,
    @Inject(APP_ENV) private readonly env: AppEnv,
    private readonly crm: CrmRegistry,
  ) {}

  resolve(extension: string): ResolvedMapping {
    return resolveMapping(this.store.current.mappings, extension);
  }

  /** The CRM user id for the mapping's owner; an e-mail is looked up once and remembered for a day. */
  async ownerId(mapping: ResolvedMapping): Promise<string | undefined> {
    const owner = mapping.owner;
    if (!owner || !mapping.connection) return undefined;
    if ('id' in owner) return owner.id;
    const key = `${this.env.redisPrefix}:owner:${mapping.connection}:${owner.email.toLowerCase()}`;
    const cached = await this.crm.redis.get(key);
    if (cached) return cached;
    const provider = this.crm.get(mapping.connection);
    if (!provider.findUserIdByEmail) {
      throw new CrmError('permanent', `Connection "${mapping.connection}" cannot look users up by e-mail; give the owner as {id: ...} in ${mapping.rules.at(-1)}.`);
    }
    const id = await provider.findUserIdByEmail(owner.email);
    if (!id) {
      throw new CrmError('permanent', `No CRM user with e-mail ${owner.email} in connection "${mapping.connection}" (owner of ${mapping.rules.at(-1)}).`);
    }
    await this.crm.redis.set(key, id, 'EX', 24 * 3600);
    return id;
  }
}
