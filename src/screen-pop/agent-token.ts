import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * Signed agent links: `token = base64url(JSON payload) + "." + base64url(HMAC-SHA256(payload part))`.
 * The payload names the extensions the page may watch and, optionally, when the link expires.
 * Plain functions (no Nest) so the CLI signs exactly as the server verifies.
 */
export interface AgentTokenPayload {
  v: 1;
  /** Extensions the page shows calls for, in the order the link lists them (the SSE id follows it). */
  ext: string[];
  /** Issued at, seconds since the epoch. */
  iat: number;
  /** Expires at, seconds since the epoch; absent for a link that does not expire. */
  exp?: number;
  /** The link's id, for listing and revoking it; absent in links minted without one (they stay valid). */
  id?: string;
}

export const MAX_EXTENSIONS = 50;
const EXTENSION = /^\d{1,12}(\*\d{1,12})?$/;
/** Generous for 50 extended extensions; refuses megabyte "tokens" before any crypto runs. */
const MAX_TOKEN_LENGTH = 4096;

export const extensionsSchema = z
  .array(z.string().regex(EXTENSION, 'an extension is an extended (0003*210) or short (210) extension number'))
  .min(1, 'give at least one extension')
  .max(MAX_EXTENSIONS, `at most ${MAX_EXTENSIONS} extensions per link`)
  .refine((list) => new Set(list).size === list.length, 'an extension is listed twice');

const payloadSchema = z
  .object({
    v: z.literal(1),
    ext: extensionsSchema,
    iat: z.number().int(),
    exp: z.number().int().optional(),
    id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .optional(),
  })
  .strict();

export type AgentTokenProblem = 'missing' | 'malformed' | 'forged' | 'expired' | 'revoked';

export class AgentTokenError extends Error {
  constructor(
    readonly problem: AgentTokenProblem,
    message: string,
  ) {
    super(message);
    this.name = 'AgentTokenError';
  }
}

export function signAgentToken(secret: string, extensions: string[], opts: { ttlHours?: number; now?: number; id?: string } = {}): { token: string; payload: AgentTokenPayload } {
  const ext = extensionsSchema.parse(extensions);
  const iat = Math.floor((opts.now ?? Date.now()) / 1000);
  const payload: AgentTokenPayload = { v: 1, ext, iat, ...(opts.ttlHours ? { exp: iat + Math.round(opts.ttlHours * 3600) } : {}), ...(opts.id ? { id: opts.id } : {}) };
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return { token: `${body}.${mac(secret, body).toString('base64url')}`, payload };
}

/**
 * Checks the signature against every secret (the first signs; the others are still accepted, so
 * AGENT_LINK_SECRET can be rotated as "new,old" without cutting agents off), in constant time.
 */
export function verifyAgentToken(secrets: readonly string[], token: string | undefined, now = Date.now()): AgentTokenPayload {
  if (!token) throw new AgentTokenError('missing', 'This page needs a signed agent link (…/agent?token=…). Ask your administrator for one.');
  const parts = token.length <= MAX_TOKEN_LENGTH ? token.split('.') : [];
  const given = parts.length === 2 && /^[A-Za-z0-9_-]{43}$/.test(parts[1]) ? Buffer.from(parts[1], 'base64url') : undefined;
  if (!given || given.length !== 32 || !/^[A-Za-z0-9_-]+$/.test(parts[0])) {
    throw new AgentTokenError('malformed', 'The agent link is damaged (the token is not in the expected form). Copy the whole link again, or ask for a new one.');
  }
  let valid = false;
  for (const secret of secrets) valid = timingSafeEqual(mac(secret, parts[0]), given) || valid;
  if (!valid) throw new AgentTokenError('forged', 'The agent link is not valid: its signature does not match (altered, or signed with a secret this server no longer has). Ask for a new link.');
  let parsed: ReturnType<typeof payloadSchema.safeParse>;
  try {
    parsed = payloadSchema.safeParse(JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')));
  } catch {
    parsed = { success: false } as ReturnType<typeof payloadSchema.safeParse>;
  }
  // Signed by us but unreadable: only a link from an incompatible version of the connector.
  if (!parsed.success) throw new AgentTokenError('malformed', 'The agent link was signed by this server but its contents are not understood. Ask for a new link.');
  const payload = parsed.data;
  if (payload.exp !== undefined && payload.exp * 1000 <= now) {
    throw new AgentTokenError('expired', `The agent link expired at ${new Date(payload.exp * 1000).toISOString()}. Ask your administrator for a new one.`);
  }
  return payload;
}

/** AGENT_LINK_SECRET may hold several comma-separated secrets: the first signs new links. */
export function splitSecrets(value: string): string[] {
  const secrets = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (secrets.length === 0) throw new Error('AGENT_LINK_SECRET is empty.');
  return secrets;
}

function mac(secret: string, body: string): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}
