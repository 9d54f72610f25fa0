import { defineProvider } from '../provider-definition';
import { SalesforceProvider } from './salesforce.provider';
import { salesforceSettings } from './salesforce.settings';

export const salesforceProvider = defineProvider({
  type: 'salesforce',
  settings: salesforceSettings,
  // Salesforce has no per-second REST limit, only a rolling 24-hour total that depends on edition
  // and licences (set it as rateLimit.perDay) and 25 concurrent long requests: stay well below that.
  defaultBudget: { requests: 25, perSeconds: 1 },
  capabilities: { createContact: true },
  secrets: (s) => (s.auth.flow === 'jwt' ? [s.auth.privateKeyEnv] : s.auth.flow === 'refresh-token' ? [s.auth.clientSecretEnv, s.auth.refreshTokenEnv] : [s.auth.clientSecretEnv]),
  create: (connection, settings, deps) => new SalesforceProvider(connection, settings, deps),
});
