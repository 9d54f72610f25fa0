import { defineProvider } from '../provider-definition';
import { SalesforceProvider } from './salesforce.provider';
import { salesforceSettings } from './salesforce.settings';

export const salesforceProvider = defineProvider({
  type: 'salesforce',
  settings: salesforceSettings,
  secrets: (s) => (s.auth.flow === 'jwt' ? [s.auth.privateKeyEnv] : s.auth.flow === 'refresh-token' ? [s.auth.clientSecretEnv, s.auth.refreshTokenEnv] : [s.auth.clientSecretEnv]),
  create: (connection, settings, deps) => new SalesforceProvider(connection, settings, deps),
});
