import { AgentTokenError, signAgentToken, splitSecrets, verifyAgentToken } from './agent-token';

const problemOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof AgentTokenError ? err.problem : `other: ${(err as Error).message}`;
  }
  return 'accepted';
};

describe('agent tokens', () => {
  const now = Date.UTC(2026, 0, 1);

  it('round-trips the extensions, in order, with an optional expiry', () => {
    const { token } = signAgentToken('s1', ['0003*211', '0003*210'], { ttlHours: 2, now });
    expect(verifyAgentToken(['s1'], token, now + 3600_000)).toMatchObject({ v: 1, ext: ['0003*211', '0003*210'], exp: now / 1000 + 7200 });
    const forever = signAgentToken('s1', ['210'], { now }).token;
    expect(verifyAgentToken(['s1'], forever, now + 10 * 365 * 86400_000).exp).toBeUndefined();
  });

  it('refuses expired, forged, tampered, damaged and missing tokens, each with its reason', () => {
    const { token } = signAgentToken('s1', ['0003*210'], { ttlHours: 1, now });
    expect(problemOf(() => verifyAgentToken(['s1'], token, now + 3600_000))).toBe('expired');
    expect(problemOf(() => verifyAgentToken(['other'], token, now))).toBe('forged');
    // Same signature over a payload widened to another extension.
    const [, sig] = token.split('.');
    const widened = Buffer.from(JSON.stringify({ v: 1, ext: ['0003*210', '0003*299'], iat: now / 1000 })).toString('base64url');
    expect(problemOf(() => verifyAgentToken(['s1'], `${widened}.${sig}`, now))).toBe('forged');
    for (const bad of ['abc', `${token}.x`, token.slice(0, -1), `${token.split('.')[0]}.${'A'.repeat(43)}x`, 'x'.repeat(5000)]) {
      expect([bad.slice(0, 20), problemOf(() => verifyAgentToken(['s1'], bad, now))]).toEqual([bad.slice(0, 20), expect.stringMatching(/malformed|forged/)]);
    }
    expect(problemOf(() => verifyAgentToken(['s1'], undefined, now))).toBe('missing');
  });

  it('a payload signed with our secret but not of our shape is refused, not trusted', () => {
    const body = Buffer.from(JSON.stringify({ v: 1, ext: ['<script>'], iat: 1 })).toString('base64url');
    const sig = require('node:crypto').createHmac('sha256', 's1').update(body).digest('base64url');
    expect(problemOf(() => verifyAgentToken(['s1'], `${body}.${sig}`, now))).toBe('malformed');
  });

  it('accepts links of an older secret while it is still listed (rotation), and signs with the first', () => {
    const old = signAgentToken('old', ['210'], { now }).token;
    const secrets = splitSecrets(' new , old ');
    expect(secrets).toEqual(['new', 'old']);
    expect(verifyAgentToken(secrets, old, now).ext).toEqual(['210']);
    expect(problemOf(() => verifyAgentToken(['new'], old, now))).toBe('forged');
  });

  it('refuses to sign what is not a list of extensions', () => {
    expect(() => signAgentToken('s', [], { now })).toThrow(/at least one/);
    expect(() => signAgentToken('s', ['210', '210'], { now })).toThrow(/twice/);
    expect(() => signAgentToken('s', ['+15551234567'], { now })).toThrow(/extension/);
  });
});
