import { generateKeyPairSync } from 'node:crypto';
import { CrmError, CrmProvider } from '../../src/crm/crm-provider';
import { phoneQuery } from '../../src/crm/phone';
import { salesforceProvider } from '../../src/crm/salesforce';
import { FakeSalesforce, FakeSalesforceOptions, startFakeSalesforce } from '../fakes/fake-salesforce';
import { useProviderRedis } from '../support/crm-provider-fixture';

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (k: typeof keys) => k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('Salesforce OAuth flows and sessions (real jsforce against the fake Salesforce)', () => {
  let sf: FakeSalesforce;
  const store = useProviderRedis('tsf', { prefixPerTest: true });
  let secrets: Record<string, string>;
  const refreshAuth = { flow: 'refresh-token', clientId: 'client-1', clientSecretEnv: 'SF_SECRET', refreshTokenEnv: 'SF_REFRESH' };
  const make = (settings: Record<string, unknown> = {}): CrmProvider =>
    salesforceProvider.create('sf', salesforceProvider.settings.parse({ type: 'salesforce', loginUrl: sf.url, auth: refreshAuth, ...settings }), store.deps('sf', { secret: (n) => secrets[n] }));
  const start = async (opts: FakeSalesforceOptions = {}) => {
    sf = await startFakeSalesforce({ jwtPublicKey: keys.publicKey, jwtUsers: ['integration@acme.example'], ...opts });
  };
  const tokenPosts = () => sf.count('POST', '/services/oauth2/token');
  const query = phoneQuery('0015551234567', 'US')!;

  beforeEach(async () => {
    secrets = { SF_SECRET: 'secret-1', SF_REFRESH: '5Aep861-refresh-1', SF_KEY: pem(keys) };
    await start();
  });
  afterEach(() => sf.close());

  it('one grant for five concurrent lookups, and one more when the session expires', async () => {
    sf.add('Contact', { Name: 'Jane', Phone: '(555) 123-4567' });
    const p = make();
    await Promise.all(Array.from({ length: 5 }, () => p.findContactsByPhone(query)));
    expect(tokenPosts()).toBe(1);
    sf.expireSessions();
    const results = await Promise.all(Array.from({ length: 5 }, () => p.findContactsByPhone(query)));
    expect(results.every((r) => r.length === 1)).toBe(true);
    expect(tokenPosts()).toBe(2);
  });

  it("two instances starting together make one grant: the second waits for the first one's token", async () => {
    sf.add('Contact', { Name: 'Jane', Phone: '(555) 123-4567' });
    const [a, b] = [make(), make()];
    const results = await Promise.all([a.findContactsByPhone(query), b.findContactsByPhone(query), a.findContactsByPhone(query), b.findContactsByPhone(query)]);
    expect(results.map((r) => r.length)).toEqual([1, 1, 1, 1]);
    expect(tokenPosts()).toBe(1);
  });

  it('a second instance uses the shared session, and a rotated refresh token is kept and used after a restart', async () => {
    await sf.close();
    await start({ rotateRefreshTokens: true });
    sf.add('Contact', { Name: 'Jane', Phone: '(555) 123-4567' });
    await make().findContactsByPhone(query);
    expect(tokenPosts()).toBe(1);
    // The env's token is now revoked: only the persisted rotation works.
    expect(sf.refreshTokens.has(secrets.SF_REFRESH)).toBe(false);
    await make().findContactsByPhone(query);
    expect(tokenPosts()).toBe(1);
    sf.expireSessions();
    const restarted = make();
    await expect(restarted.findContactsByPhone(query)).resolves.toHaveLength(1);
    expect(tokenPosts()).toBe(2);
    expect(sf.requests.filter((r) => r.path === '/services/oauth2/token').map((r) => r.body.refresh_token)).toEqual(['5Aep861-refresh-1', expect.not.stringMatching(/^5Aep861-refresh-1$/)]);
  });

  it('a new refresh token put in the environment wins over an older persisted rotation', async () => {
    await sf.close();
    await start({ rotateRefreshTokens: true, refreshTokens: ['5Aep861-refresh-1', '5Aep861-reauthorised'] });
    await make().findContactsByPhone(query);
    await store.redis.del(`${store.keyPrefix('sf')}:session`);
    secrets.SF_REFRESH = '5Aep861-reauthorised';
    await make().findContactsByPhone(query);
    expect(sf.requests.filter((r) => r.path === '/services/oauth2/token').map((r) => r.body.refresh_token)).toEqual(['5Aep861-refresh-1', '5Aep861-reauthorised']);
  });

  it('refreshes once on INVALID_SESSION_ID, then reports auth instead of refreshing forever', async () => {
    const p = make();
    await p.findContactsByPhone(query);
    sf.inject({ pathIncludes: '/search', status: 401, body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }], times: 5 });
    await expect(p.findContactsByPhone(query)).rejects.toMatchObject({ kind: 'auth', opts: { status: 401, code: 'INVALID_SESSION_ID' } });
    expect(tokenPosts()).toBe(2);
  });

  it("a revoked refresh token is an auth failure with Salesforce's reason", async () => {
    sf.refreshTokens.clear();
    const err = (await make()
      .findContactsByPhone(query)
      .catch((e: unknown) => e)) as CrmError;
    expect(err).toMatchObject({ kind: 'auth' });
    expect(err.message).toMatch(/invalid_grant: expired access\/refresh token/);
  });

  it('JWT bearer: a signed assertion gets a session, and the grant runs again when it expires', async () => {
    sf.add('Contact', { Name: 'Jane', Phone: '(555) 123-4567' });
    const p = make({ auth: { flow: 'jwt', clientId: 'client-1', username: 'integration@acme.example', privateKeyEnv: 'SF_KEY' } });
    await expect(p.findContactsByPhone(query)).resolves.toHaveLength(1);
    sf.expireSessions();
    await expect(p.findContactsByPhone(query)).resolves.toHaveLength(1);
    const grants = sf.requests.filter((r) => r.path === '/services/oauth2/token');
    expect(grants.map((r) => Object.keys(r.body).sort())).toEqual([
      ['assertion', 'grant_type'],
      ['assertion', 'grant_type'],
    ]);
    expect(grants[0].body.grant_type).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
  });

  it('JWT bearer: a key the connected app does not know, or an unapproved user, is an auth failure', async () => {
    secrets.SF_KEY = pem(otherKeys).replace(/\n/g, '\\n'); // as pasted into an env var
    await expect(make({ auth: { flow: 'jwt', clientId: 'client-1', username: 'integration@acme.example', privateKeyEnv: 'SF_KEY' } }).findContactsByPhone(query)).rejects.toMatchObject({
      kind: 'auth',
      opts: { code: 'invalid_grant' },
    });
    secrets.SF_KEY = pem(keys);
    await expect(make({ auth: { flow: 'jwt', clientId: 'client-1', username: 'stranger@acme.example', privateKeyEnv: 'SF_KEY' } }).findContactsByPhone(query)).rejects.toMatchObject({ kind: 'auth' });
    secrets.SF_KEY = 'not a key';
    await expect(make({ auth: { flow: 'jwt', clientId: 'client-1', username: 'integration@acme.example', privateKeyEnv: 'SF_KEY' } }).findContactsByPhone(query)).rejects.toMatchObject({
      kind: 'auth',
      message: expect.stringMatching(/SF_KEY cannot be read/),
    });
  });

  it("client credentials: a session from the app's id and secret; a wrong secret is an auth failure", async () => {
    sf.add('Contact', { Name: 'Jane', Phone: '(555) 123-4567' });
    const p = make({ auth: { flow: 'client-credentials', clientId: 'client-1', clientSecretEnv: 'SF_SECRET' } });
    await expect(p.findContactsByPhone(query)).resolves.toHaveLength(1);
    expect(sf.requests.find((r) => r.path === '/services/oauth2/token')!.body).toEqual({ grant_type: 'client_credentials', client_id: 'client-1', client_secret: 'secret-1' });
    secrets.SF_SECRET = 'wrong';
    await store.redis.del(`${store.keyPrefix('sf')}:session`);
    await expect(make({ auth: { flow: 'client-credentials', clientId: 'client-1', clientSecretEnv: 'SF_SECRET' } }).findContactsByPhone(query)).rejects.toMatchObject({
      kind: 'auth',
      opts: { code: 'invalid_client' },
    });
  });
});
