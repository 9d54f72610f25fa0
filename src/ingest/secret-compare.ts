import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * True when `given` equals one of `secrets`. Both sides are hashed first so the comparison takes
 * the same time whatever the lengths, and every secret is compared so the time does not tell
 * which one (if any) matched.
 */
export function matchesAnySecret(given: string | undefined, secrets: readonly string[]): boolean {
  if (!given) return false;
  const g = createHash('sha256').update(given).digest();
  let match = false;
  for (const secret of secrets) {
    const s = createHash('sha256').update(secret).digest();
    match = timingSafeEqual(g, s) || match;
  }
  return match;
}
