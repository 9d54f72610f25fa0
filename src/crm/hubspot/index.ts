import { defineProvider } from '../provider-definition';
import { HubSpotProvider } from './hubspot.provider';
import { hubspotSettings } from './hubspot.settings';

export const hubspotProvider = defineProvider({
  type: 'hubspot',
  settings: hubspotSettings,
  secrets: (s) => (s.auth.flow === 'private-app' ? [s.auth.tokenEnv] : [s.auth.clientSecretEnv, s.auth.refreshTokenEnv]),
  create: (connection, settings, deps) => new HubSpotProvider(connection, settings, deps),
});
