import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { RedisClient } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { REQUEST_REDIS } from '../redis/redis.tokens';

/**
 * Which extensions an embedded CRM panel shows, kept across browser sessions and revocable one
 * by one. Ops create a binding (extensions + a label) and get a one-time pairing code; the agent
 * pastes the code into the panel once; the panel trades it for a panel key that it keeps in its
 * localStorage and shows on every load to get a short-lived stream token for those extensions.
 * Redis keeps only hashes of the code and the key. Deleting the binding revokes the panel: its
 * next check (EMBED_SESSION_CHECK_SECONDS) is refused and the panel empties itself.
 */
export interface BindingView {
  id: string;
  label: string;
  extensions: string[];
  createdAt: string;
  /** When the pairing code stops working; absent once used. */
  codeExpiresAt?: string;
  pairedAt?: string;
  lastSeenAt?: string;
}

export type PairResult = { ok: true; key: string; binding: BindingView } | { ok: false; problem: 'unknown' | 'used' | 'expired' | 'malformed' };
export type CheckResult = { ok: true; binding: BindingView } | { ok: false; problem: 'unknown' | 'malformed' };

const ID = /^[a-z0-9]{10}$/;
const SECRET = /^[A-Za-z0-9_-]{20,64}$/;

/** One round trip, atomic: a code works once, before it expires; using it sets the panel key. */
const PAIR_SCRIPT = `
local h = redis.call('HMGET', KEYS[1], 'codeHash', 'codeExpiresAt', 'createdAt')
if not h[3] then return 'unknown' end
if not h[1] then return 'used' end
if h[1] ~= ARGV[1] then return 'unknown' end
if tonumber(h[2]) <= tonumber(ARGV[2]) then return 'expired' end
redis.call('HDEL', KEYS[1], 'codeHash', 'codeExpiresAt')
redis.call('HSET', KEYS[1], 'keyHash', ARGV[3], 'pairedAt', ARGV[2])
return 'ok'`;

type PairCommand = RedisClient & { vnccPairPanel(key: string, codeHash: string, now: number, keyHash: string): Promise<string> };

@Injectable()
export class PanelBindings {
  private readonly redis: PairCommand;

  constructor(
    private readonly keys: RedisKeys,
    // The panels' and the console's requests wait on it: fail-fast, a 503 rather than a hang.
    @Inject(REQUEST_REDIS) redis: RedisClient,
  ) {
    // Adds the command to this client only (EVALSHA, the script loaded on first use); the name is the connector's own.
    redis.defineCommand('vnccPairPanel', { numberOfKeys: 1, lua: PAIR_SCRIPT });
    this.redis = redis as PairCommand;
  }

  async create(extensions: string[], label: string, codeTtlHours: number): Promise<{ binding: BindingView; code: string }> {
    const id = randomId();
    const { code, expiresAt } = await this.writeCode(id, codeTtlHours, { ext: JSON.stringify(extensions), label, createdAt: String(Date.now()) });
    await this.redis.sadd(this.indexKey(), id);
    return { binding: { ...(await this.found(id)), codeExpiresAt: new Date(expiresAt).toISOString() }, code };
  }

  /** A new pairing code for an existing binding (a new browser): pairing it replaces the panel key. */
  async newCode(id: string, codeTtlHours: number): Promise<{ binding: BindingView; code: string } | undefined> {
    if (!ID.test(id) || !(await this.redis.exists(this.key(id)))) return undefined;
    const { code } = await this.writeCode(id, codeTtlHours, {});
    return { binding: await this.found(id), code };
  }

  async pair(code: string): Promise<PairResult> {
    const m = /^VNCC-([a-z0-9]{10})-([A-Za-z0-9_-]{20,64})$/.exec(code.trim());
    if (!m) return { ok: false, problem: 'malformed' };
    const secret = randomBytes(32).toString('base64url');
    const result = await this.redis.vnccPairPanel(this.key(m[1]), hash(m[2]), Date.now(), hash(secret));
    if (result !== 'ok') return { ok: false, problem: result as 'unknown' | 'used' | 'expired' };
    return { ok: true, key: `${m[1]}.${secret}`, binding: await this.found(m[1]) };
  }

  /** The binding a panel key belongs to, if it still holds; notes when the panel was last seen. */
  async check(panelKey: string): Promise<CheckResult> {
    const [id, secret, extra] = panelKey.split('.') as [string, string?, string?];
    if (extra !== undefined || secret === undefined || !ID.test(id) || !SECRET.test(secret)) return { ok: false, problem: 'malformed' };
    const stored = await this.redis.hget(this.key(id), 'keyHash');
    if (!stored || !timingSafeEqual(Buffer.from(stored, 'hex'), Buffer.from(hash(secret), 'hex'))) return { ok: false, problem: 'unknown' };
    await this.redis.hset(this.key(id), 'lastSeenAt', String(Date.now()));
    return { ok: true, binding: await this.found(id) };
  }

  async list(): Promise<BindingView[]> {
    const ids = await this.redis.smembers(this.indexKey());
    const views = await Promise.all(ids.map((id) => this.get(id)));
    return views.filter((v): v is BindingView => !!v).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Revokes the binding: its code and its panel key stop working at once. */
  async revoke(id: string): Promise<boolean> {
    if (!ID.test(id)) return false;
    const [removed] = await Promise.all([this.redis.del(this.key(id)), this.redis.srem(this.indexKey(), id)]);
    return removed === 1;
  }

  /** A binding just written or checked; it is gone only when ops revoked it in the same instant. */
  private async found(id: string): Promise<BindingView> {
    const view = await this.get(id);
    if (!view) throw new Error(`Panel binding ${id} was revoked while it was being read; pair the panel again.`);
    return view;
  }

  private async get(id: string): Promise<BindingView | undefined> {
    // A hash holds only the fields written so far.
    const h: Partial<Record<string, string>> = await this.redis.hgetall(this.key(id));
    if (!h.createdAt) return undefined;
    const iso = (ms?: string) => (ms ? new Date(Number(ms)).toISOString() : undefined);
    return {
      id,
      label: h.label ?? '',
      extensions: JSON.parse(h.ext ?? '[]') as string[],
      createdAt: new Date(Number(h.createdAt)).toISOString(),
      ...(h.codeExpiresAt ? { codeExpiresAt: iso(h.codeExpiresAt) } : {}),
      ...(h.pairedAt ? { pairedAt: iso(h.pairedAt) } : {}),
      ...(h.lastSeenAt ? { lastSeenAt: iso(h.lastSeenAt) } : {}),
    };
  }

  private async writeCode(id: string, ttlHours: number, fields: Record<string, string>): Promise<{ code: string; expiresAt: number }> {
    const secret = randomBytes(18).toString('base64url');
    const expiresAt = Date.now() + Math.round(ttlHours * 3600_000);
    await this.redis.hset(this.key(id), { ...fields, codeHash: hash(secret), codeExpiresAt: String(expiresAt) });
    return { code: `VNCC-${id}-${secret}`, expiresAt };
  }

  private key(id: string): string {
    return this.keys.panelBinding(id);
  }

  private indexKey(): string {
    return this.keys.panelBindings();
  }
}

function hash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function randomId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(10)].map((b) => alphabet[b % alphabet.length]).join('');
}
