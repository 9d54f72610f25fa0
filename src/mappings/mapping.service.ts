import { Inject, Injectable } from '@nestjs/common';
import { ConfigStore } from '../config/config.store';
import { RedisClient } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { SHARED_REDIS } from '../redis/redis.tokens';
import { CrmError } from '../crm/crm-provider';
import { CrmRegistry } from '../crm/crm-registry.service';
import { MetricsService } from '../metrics/metrics.service';
import { resolveMapping, ResolvedMapping } from './resolve-mapping';

/** A CRM user id found by e-mail is kept this long: users are renamed far more often than re-created. */
const OWNER_TTL_SECONDS = 24 * 3600;

/** Resolves extensions against the active mappings, and mapping owners to CRM user ids. */
@Injectable()
export class MappingService {
  /** One lookup per e-mail in flight per process: a burst of calls for one owner costs one request. */
  private readonly ownerLookups = new Map<string, Promise<string>>();

  constructor(
    private readonly store: ConfigStore,
    private readonly crm: CrmRegistry,
    private readonly keys: RedisKeys,
    @Inject(SHARED_REDIS) private readonly redis: RedisClient,
    private readonly metrics: MetricsService,
  ) {}

  resolve(extension: string): ResolvedMapping {
    return resolveMapping(this.store.current.mappings, extension);
  }

  /**
   * The CRM user id for the mapping's owner. An e-mail is looked up once per connection (shared
   * through Redis by every instance, kept a day). When no user has that e-mail the call fails
   * permanently: it stays in the failed set, with the reason, until ops fix the mapping or the
   * CRM and replay it; logging it under the integration user instead would hide the mistake.
   */
  async ownerId(mapping: ResolvedMapping): Promise<string | undefined> {
    const owner = mapping.owner;
    if (!owner || !mapping.connection) return undefined;
    if ('id' in owner) return owner.id;
    const connection = mapping.connection;
    const email = owner.email.toLowerCase();
    const key = this.keys.owner(connection, email);
    const cached = await this.redis.get(key);
    if (cached) return cached;
    let pending = this.ownerLookups.get(key);
    if (!pending) {
      pending = this.findOwner(connection, email, mapping.rules.at(-1) ?? 'defaults', key).finally(() => this.ownerLookups.delete(key));
      this.ownerLookups.set(key, pending);
    }
    return pending;
  }

  private async findOwner(connection: string, email: string, rule: string, key: string): Promise<string> {
    const provider = this.crm.get(connection);
    if (!provider.findUserIdByEmail) {
      throw new CrmError('permanent', `Connection "${connection}" cannot look users up by e-mail; give the owner as {id: ...} in mappings.${rule}, then replay.`);
    }
    const findUserIdByEmail = provider.findUserIdByEmail.bind(provider);
    const id = await this.metrics.timeCrm(connection, 'findOwner', () => findUserIdByEmail(email));
    if (!id) {
      throw new CrmError('permanent', `No CRM user with e-mail ${email} in connection "${connection}" (owner in mappings.${rule}): fix the mapping or the CRM user, then replay.`);
    }
    await this.redis.set(key, id, 'EX', OWNER_TTL_SECONDS);
    return id;
  }
}
