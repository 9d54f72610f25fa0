import { ForbiddenException, HttpException, Inject, Injectable, OnApplicationShutdown, OnModuleInit, UnauthorizedException } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { APP_ENV } from '../config/config.tokens';
import { AppEnv } from '../config/env';
import { RedisClient } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { SHARED_REDIS } from '../redis/redis.tokens';
import { AgentTokenError, AgentTokenPayload, signAgentToken, splitSecrets, verifyAgentToken } from './agent-token';

/** How often each instance re-reads the revoked links (a revocation made on another instance lands within this). */
const REVOCATION_POLL_MS = 2000;

/** A link ops issued with an id: what the console lists (never its token). */
export interface IssuedLink {
  id: string;
  extensions: string[];
  issuedAt: string;
  expiresAt: string | null;
  revokedAt?: string;
}

/**
 * Mints and checks agent links with AGENT_LINK_SECRET (several, comma-separated, while rotating).
 *
 * Links issued by ops (`issue`) carry an id and are listed in Redis, so one can be revoked: the
 * revoked ids are a sorted set (scored by the link's expiry, so expired ones are pruned) that every
 * instance keeps a copy of in memory, which keeps `verify` synchronous. Streams of a revoked link
 * are closed through `onRevoked`. Links without an id (older links, the CLI's) stay valid until
 * they expire or their secret is rotated out.
 */
@Injectable()
export class AgentLinks implements OnModuleInit, OnApplicationShutdown {
  private readonly secrets: string[];
  private readonly revoked = new Set<string>();
  private readonly watchers = new Map<string, Set<() => void>>();
  private poll?: NodeJS.Timeout;

  constructor(
    @Inject(APP_ENV) env: AppEnv,
    private readonly keys: RedisKeys,
    // Waits out an outage: the revocation poll just catches up once Redis is back.
    @Inject(SHARED_REDIS) private readonly redis: RedisClient,
  ) {
    this.secrets = splitSecrets(env.agentLinkSecret);
  }

  async onModuleInit() {
    // Before the first request: a revoked link must not pass while the list is still unread.
    await Promise.race([this.refresh().catch(() => undefined), new Promise((r) => setTimeout(r, 3000).unref())]);
    this.poll = setInterval(() => void this.refresh().catch(() => undefined), REVOCATION_POLL_MS).unref();
  }

  onApplicationShutdown() {
    clearInterval(this.poll);
  }

  private get listKey() {
    return this.keys.agentLinks();
  }

  private get revokedKey() {
    return this.keys.revokedAgentLinks();
  }

  /** A link without an id: not listed, not revocable one by one (the embedded panels' sessions). */
  mint(extensions: string[], ttlHours?: number) {
    const { token, payload } = signAgentToken(this.secrets[0], extensions, { ttlHours });
    return { token, extensions: payload.ext, expiresAt: payload.exp ? new Date(payload.exp * 1000).toISOString() : null };
  }

  /** A link ops can list and revoke later. */
  async issue(extensions: string[], ttlHours?: number) {
    const id = randomBytes(12).toString('base64url');
    const { token, payload } = signAgentToken(this.secrets[0], extensions, { ttlHours, id });
    const link: IssuedLink = { id, extensions: payload.ext, issuedAt: new Date(payload.iat * 1000).toISOString(), expiresAt: payload.exp ? new Date(payload.exp * 1000).toISOString() : null };
    await this.redis.hset(this.listKey, id, JSON.stringify(link));
    return { token, ...link };
  }

  /** Issued links, newest first; expired ones are dropped from the list as it is read. */
  async list(extension?: string): Promise<IssuedLink[]> {
    const all = Object.values(await this.redis.hgetall(this.listKey)).map((json) => JSON.parse(json) as IssuedLink);
    const expired = all.filter((l) => l.expiresAt && Date.parse(l.expiresAt) <= Date.now());
    if (expired.length) await this.redis.hdel(this.listKey, ...expired.map((l) => l.id));
    return all.filter((l) => !expired.includes(l) && (!extension || l.extensions.includes(extension))).sort((a, b) => b.issuedAt.localeCompare(a.issuedAt) || a.id.localeCompare(b.id));
  }

  /** Revokes an issued link: every instance refuses it within REVOCATION_POLL_MS and closes its pages' streams. */
  async revoke(id: string): Promise<IssuedLink | undefined> {
    const json = await this.redis.hget(this.listKey, id);
    if (!json) return undefined;
    const link = JSON.parse(json) as IssuedLink;
    if (!link.revokedAt) {
      link.revokedAt = new Date().toISOString();
      const expiry = link.expiresAt ? String(Date.parse(link.expiresAt)) : '+inf';
      await this.redis.multi().zadd(this.revokedKey, expiry, id).hset(this.listKey, id, JSON.stringify(link)).exec();
    }
    this.markRevoked([id]);
    return link;
  }

  /** Calls `close` when the link is revoked; returns the function that stops watching. */
  onRevoked(link: AgentTokenPayload, close: () => void): () => void {
    if (!link.id) return () => undefined;
    const id = link.id;
    // Revoked between the page's check and now.
    if (this.revoked.has(id)) {
      close();
      return () => undefined;
    }
    let set = this.watchers.get(id);
    if (!set) this.watchers.set(id, (set = new Set()));
    set.add(close);
    return () => {
      set.delete(close);
      if (set.size === 0 && this.watchers.get(id) === set) this.watchers.delete(id);
    };
  }

  /** The link's payload, or the HTTP error to answer: 401 missing/damaged/forged, 403 expired or revoked. */
  verify(token: unknown): AgentTokenPayload {
    try {
      const payload = verifyAgentToken(this.secrets, tokenParam(token));
      if (payload.id && this.revoked.has(payload.id)) throw new AgentTokenError('revoked', 'This agent link was revoked by your administrator. Ask for a new one.');
      return payload;
    } catch (err) {
      if (err instanceof AgentTokenError) throw toHttpError(err);
      throw err;
    }
  }

  private async refresh(): Promise<void> {
    const redis = this.redis;
    await redis.zremrangebyscore(this.revokedKey, '-inf', `(${Date.now()}`);
    // Only added to: a revocation is never undone, and an expired link is refused by its expiry anyway.
    this.markRevoked(await redis.zrange(this.revokedKey, '0', '-1'));
  }

  private markRevoked(ids: string[]): void {
    for (const id of ids) {
      this.revoked.add(id);
      const set = this.watchers.get(id);
      if (!set) continue;
      this.watchers.delete(id);
      for (const close of set) close();
    }
  }
}

export function toHttpError(err: AgentTokenError): HttpException {
  return err.problem === 'expired' || err.problem === 'revoked' ? new ForbiddenException(err.message) : new UnauthorizedException(err.message);
}

/** `?token=a&token=b` arrives as an array: refused as damaged rather than picking one. */
function tokenParam(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  return typeof value === 'string' ? value : '[several tokens]';
}
