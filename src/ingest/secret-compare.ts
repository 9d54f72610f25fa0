import { hash, timingSafeEqual } from 'node:crypto';

/**
 * True when `given` equals one of `secrets`. Both sides are hashed first so the comparison takes
 * the same time whatever the lengths, and every secret is compared so the time does not tell
 * which one (if any) matched.
 */
export function matchesAnySecret(given: string | undefined, secrets: readonly string[]): boolean {
  return secretMatcher(secrets)(given);
}

/**
 * matchesAnySecret with the secrets hashed once, for the ingest path where it runs per event:
 * only the given value is hashed per call, and it is still compared with every secret.
 */
export function secretMatcher(secrets: readonly string[]): (given: string | undefined) => boolean {
  const digests = secrets.map(sha256);
  return (given) => {
    if (!given) return false;
    const g = sha256(given);
    let match = false;
    for (const s of digests) match = timingSafeEqual(g, s) || match;
    return match;
  };
}

/** crypto.hash: the one-shot digest, without a Hash object per call. */
function sha256(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}
