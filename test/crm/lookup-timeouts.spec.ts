import { ConfigError, parseConfig } from '../../src/config/config.loader';

/**
 * A connection whose lookups time out at or before the pop's budget would leave every slow
 * lookup's card on "Looking up…": configuration validation refuses it, naming the key and line.
 */
describe('lookupTimeoutMs against screenPop.lookupBudgetMs', () => {
  const yaml = (budget: number | undefined, sf: string, hs: string) => `${budget === undefined ? '' : `screenPop: { lookupBudgetMs: ${budget} }\n`}connections:
  sales:
    type: salesforce
    auth: { flow: client-credentials, clientId: c, clientSecretEnv: SF_SECRET }
${sf}
  support:
    type: hubspot
    auth: { flow: private-app, tokenEnv: HS_TOKEN }
${hs}
`;

  it('the defaults are consistent: lookups time out at 8000 ms, well after the 1500 ms budget', () => {
    const config = parseConfig(yaml(undefined, '', ''), 'connector.yaml');
    expect(config.screenPop.lookupBudgetMs).toBe(1500);
    expect(config.connections.sales).toMatchObject({ lookupTimeoutMs: 8000 });
    expect(config.connections.support).toMatchObject({ lookupTimeoutMs: 8000 });
  });

  it('refuses a connection whose lookupTimeoutMs is not above the budget, for each such connection, with the line', () => {
    let error: ConfigError | undefined;
    try {
      parseConfig(yaml(2000, '    lookupTimeoutMs: 2000', '    lookupTimeoutMs: 1500'), 'connector.yaml');
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toEqual([
      { path: 'connections.sales.lookupTimeoutMs', line: 6, message: expect.stringContaining('2000 ms is not above screenPop.lookupBudgetMs (2000 ms)') },
      { path: 'connections.support.lookupTimeoutMs', line: 10, message: expect.stringContaining('1500 ms is not above screenPop.lookupBudgetMs (2000 ms)') },
    ]);
    expect(error!.message).toContain('the card would never fill in');
  });

  it('accepts a timeout above the budget, and any timeout when the budget is 0 (the pop always waits for the CRM)', () => {
    expect(() => parseConfig(yaml(2000, '    lookupTimeoutMs: 2001', ''), 'connector.yaml')).not.toThrow();
    expect(() => parseConfig(yaml(0, '    lookupTimeoutMs: 100', '    lookupTimeoutMs: 100'), 'connector.yaml')).not.toThrow();
  });
});
