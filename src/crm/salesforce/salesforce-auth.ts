import { OAuth2, TokenResponse } from 'jsforce';
import type { RedisClient } from '../../redis/redis-connection';
import { CrmConnectionKeys } from '../../redis/redis-keys';
import { createHash, createPrivateKey, randomBytes, sign } from 'node:crypto';
import { Logger } from 'pino';
import { CrmError } from '../crm-provider';
import { classifySalesforceError } from './salesforce-errors';

/** The token endpoint's answer, as Salesforce may send it: instance_url can be missing (the settings then say where the org is). */
type TokenAnswer = Omit<TokenResponse, 'instance_url'> & { instance_url?: string };
import { SalesforceSettings } from './salesforce.settings';
import { SalesforceTransport } from './salesforce-transport';

export interface SalesforceSession {
  accessToken: string;
  instanceUrl: string;
}

export interface SalesforceAuthDeps {
  secret(name: string): string;
  redis: RedisClient;
  keyPrefix: string;
  logger: Logger;
}

/**
 * Salesforce's token responses carry no expiry (sessions time out after the org's inactivity
 * timeout, 2 h by default): share a token for an hour, and any 401 before that renews it.
 */
const SHARED_SESSION_SECONDS = 3600;
/** Longest a grant may hold the cross-instance lock; others wait for its token at most this long. */
const GRANT_LOCK_MS = 15_000;
const JWT_LIFETIME_SECONDS = 180;
const RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * Access tokens for one connection: the three OAuth flows, one grant at a time (per process
 * through a shared promise, across instances through a Redis lock), the token shared with other
 * instances through Redis, and rotated refresh tokens persisted so the next grant uses the new one.
 */
export class SalesforceAuthManager {
  /** Set when a grant fails, so a caller whose error jsforce re-wrapped can report the real reason. */
  lastFailure?: { error: CrmError; at: number };
  private renewing?: Promise<SalesforceSession>;
  private readonly oauth2: OAuth2;
  private readonly keys: CrmConnectionKeys;

  constructor(
    private readonly settings: SalesforceSettings,
    private readonly deps: SalesforceAuthDeps,
    timeoutMs: number,
  ) {
    this.keys = new CrmConnectionKeys(deps.keyPrefix);
    const auth = settings.auth;
    const clientSecret = auth.flow === 'jwt' ? undefined : deps.secret(auth.clientSecretEnv);
    // The JWT grant sends only grant_type and assertion: no client id for jsforce to add.
    this.oauth2 = new OAuth2({ loginUrl: settings.loginUrl, clientId: auth.flow === 'jwt' ? undefined : auth.clientId, clientSecret });
    this.oauth2._transport = new SalesforceTransport(timeoutMs, false);
  }

  /** A session to start with: the one another instance shared, or a new grant. */
  session(): Promise<SalesforceSession> {
    return this.renew(undefined);
  }

  /**
   * A session other than `failed` (the token Salesforce just refused). Concurrent callers share
   * one renewal; a token another instance already renewed is adopted without a grant.
   */
  renew(failed: string | undefined): Promise<SalesforceSession> {
    this.renewing ??= this.renewOnce(failed).finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  private async renewOnce(failed: string | undefined): Promise<SalesforceSession> {
    const shared = await this.readShared(failed);
    if (shared) return shared;
    const lockKey = this.keys.grantLock();
    const lockId = randomBytes(8).toString('hex');
    const locked = (await this.deps.redis.set(lockKey, lockId, 'PX', GRANT_LOCK_MS, 'NX')) === 'OK';
    if (!locked) {
      // Another instance is granting (with rotation, two grants on one refresh token can revoke it).
      const deadline = Date.now() + GRANT_LOCK_MS;
      do {
        await new Promise((r) => setTimeout(r, 100));
        const theirs = await this.readShared(failed);
        if (theirs) return theirs;
      } while (Date.now() < deadline && (await this.deps.redis.exists(lockKey)));
    }
    try {
      const session = await this.grant();
      await this.deps.redis.set(this.keys.session(), JSON.stringify(session), 'EX', SHARED_SESSION_SECONDS);
      return session;
    } finally {
      if (locked) await this.deps.redis.eval(RELEASE_LOCK, 1, lockKey, lockId).catch(() => undefined);
    }
  }

  private async readShared(failed: string | undefined): Promise<SalesforceSession | undefined> {
    const text = await this.deps.redis.get(this.keys.session());
    const session = text ? (JSON.parse(text) as SalesforceSession) : undefined;
    return session && session.accessToken !== failed ? session : undefined;
  }

  private async grant(): Promise<SalesforceSession> {
    const auth = this.settings.auth;
    let res: TokenAnswer;
    let rotated = false;
    try {
      if (auth.flow === 'refresh-token') {
        const { token, envValue } = await this.refreshToken();
        res = await this.oauth2.refreshToken(token);
        // Salesforce returns a refresh_token only when the app rotates them; the old one is then void.
        if (res.refresh_token && res.refresh_token !== token) {
          await this.deps.redis.set(this.keys.refreshToken(), JSON.stringify({ token: res.refresh_token, seed: fingerprint(envValue) }));
          rotated = true;
        }
      } else if (auth.flow === 'jwt') {
        res = await this.oauth2.requestToken({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: this.assertion() });
      } else {
        res = await this.oauth2.requestToken({ grant_type: 'client_credentials' });
      }
    } catch (err) {
      const e = classifySalesforceError(err);
      // A refused grant cannot be fixed by retrying the job: it needs new credentials (reported in readiness).
      const error = new CrmError(e.kind === 'permanent' ? 'auth' : e.kind, `Salesforce OAuth (${auth.flow}) failed: ${e.message}`, e.opts);
      this.lastFailure = { error, at: Date.now() };
      throw error;
    }
    this.deps.logger.info({ event: 'crm.token.granted', flow: auth.flow, rotated }, 'Salesforce access token granted');
    return { accessToken: res.access_token, instanceUrl: res.instance_url ?? this.settings.instanceUrl ?? this.settings.loginUrl };
  }

  /**
   * The refresh token to use: a rotated one persisted in Redis, unless the environment now holds
   * a different token than the one that rotation chain started from (an admin re-authorised).
   */
  private async refreshToken(): Promise<{ token: string; envValue: string }> {
    const auth = this.settings.auth;
    if (auth.flow !== 'refresh-token') throw new Error('not a refresh-token connection');
    const envValue = this.deps.secret(auth.refreshTokenEnv);
    const stored = await this.deps.redis.get(this.keys.refreshToken());
    const persisted = stored ? (JSON.parse(stored) as { token: string; seed: string }) : undefined;
    return { token: persisted && persisted.seed === fingerprint(envValue) ? persisted.token : envValue, envValue };
  }

  /** RS256 JWT for the bearer grant: iss = connected app, sub = user, aud = the login server. */
  private assertion(): string {
    const auth = this.settings.auth;
    if (auth.flow !== 'jwt') throw new Error('not a JWT connection');
    let key;
    try {
      // PEMs pasted into env vars often arrive with literal "\n".
      key = createPrivateKey(this.deps.secret(auth.privateKeyEnv).replace(/\\n/g, '\n'));
    } catch (err) {
      throw new CrmError('auth', `The private key in ${auth.privateKeyEnv} cannot be read as a PEM RSA key: ${(err as Error).message}`);
    }
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const claims = { iss: auth.clientId, sub: auth.username, aud: auth.audience ?? defaultAudience(this.settings.loginUrl), exp: Math.floor(Date.now() / 1000) + JWT_LIFETIME_SECONDS };
    const input = `${b64({ alg: 'RS256' })}.${b64(claims)}`;
    return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
  }
}

/** Sandboxes log in at test.salesforce.com (or a *.sandbox.my.salesforce.com My Domain). */
export function defaultAudience(loginUrl: string): string {
  const host = new URL(loginUrl).hostname;
  return host === 'test.salesforce.com' || host.endsWith('.sandbox.my.salesforce.com') ? 'https://test.salesforce.com' : 'https://login.salesforce.com';
}

function fingerprint(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16);
}
