import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Record pages the connector itself serves (the `file` CRM's contact view) are linked from the
 * agent's card. Their links carry an HMAC of the path, so a page opens from a card and nobody can
 * walk the contact list by guessing ids. Keyed by AGENT_LINK_SECRET (each of its rotation values).
 */
export function signRecordPath(secret: string, path: string): string {
  return createHmac('sha256', secret).update(path).digest('base64url');
}

export function recordPathSigned(secrets: readonly string[], path: string, signature: string | undefined): boolean {
  if (!signature) return false;
  const given = Buffer.from(signature);
  let ok = false;
  for (const secret of secrets) {
    const expected = Buffer.from(signRecordPath(secret, path));
    ok = (expected.length === given.length && timingSafeEqual(expected, given)) || ok;
  }
  return ok;
}
