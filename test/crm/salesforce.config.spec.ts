import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseConfig } from '../../src/config/config.loader';

/** The commented Salesforce connection in the shipped config is what docs/crm-providers.md tells people to copy: it must validate. */
describe('Salesforce connection settings', () => {
  const file = resolve(__dirname, '../../config/connector.yaml');
  const shipped = readFileSync(file, 'utf8');
  // Uncomment the example block (its "# or:" alternatives stay comments one level down).
  const lines = shipped.split('\n');
  const from = lines.indexOf('  # sales-eu:');
  const to = lines.findIndex((l, i) => i > from && /^ {2}# \S/.test(l));
  const example = (auth?: string) =>
    lines
      .map((l, i) => (i >= from && i < to ? l.replace(/^ {2}# /, '  ') : l))
      .map((l) => (auth && /^ {4}auth: /.test(l) ? `    auth: ${auth}` : l))
      .join('\n');
  const secrets: Record<string, string> = { SF_CLIENT_SECRET: 's', SF_REFRESH_TOKEN: 'r', SF_PRIVATE_KEY: 'k' };

  it('the shipped example validates, with the current API version', () => {
    const config = parseConfig(example(), file, (n) => secrets[n]);
    expect(config.connections['sales-eu']).toMatchObject({
      type: 'salesforce',
      loginUrl: 'https://login.salesforce.com',
      version: '62.0',
      lookupTimeoutMs: 8000,
      callKeyField: 'CallObject',
      auth: { flow: 'refresh-token', clientSecretEnv: 'SF_CLIENT_SECRET' },
    });
  });

  it.each([
    ['{ flow: jwt, clientId: 3MVG9x, username: integration@acme.example, privateKeyEnv: SF_PRIVATE_KEY }', 'jwt'],
    ['{ flow: client-credentials, clientId: 3MVG9x, clientSecretEnv: SF_CLIENT_SECRET }', 'client-credentials'],
  ])('the %s alternative validates', (auth, flow) => {
    expect(parseConfig(example(auth), file, (n) => secrets[n]).connections['sales-eu']).toMatchObject({ auth: { flow } });
  });

  it("names a missing secret and a flow mixed up with another's keys", () => {
    expect(() => parseConfig(example(), file, (n) => (n === 'SF_REFRESH_TOKEN' ? undefined : secrets[n]))).toThrow(/SF_REFRESH_TOKEN/);
    expect(() => parseConfig(example('{ flow: jwt, clientId: x, clientSecretEnv: SF_CLIENT_SECRET }'), file, (n) => secrets[n])).toThrow(/sales-eu\.auth/);
  });
});
