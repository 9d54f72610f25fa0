import { defineProvider } from '../provider-definition';
import { HUBSPOT_DEFAULT_DISPOSITIONS } from './hubspot-writes';
import { HubSpotProvider } from './hubspot.provider';
import { hubspotSettings } from './hubspot.settings';

export const hubspotProvider = defineProvider({
  type: 'hubspot',
  settings: hubspotSettings,
  // Free/Starter private apps: 100 requests per 10 s, 250,000 a day (Pro/Enterprise: 190 and 625,000).
  defaultBudget: { requests: 100, perSeconds: 10, perDay: 250_000 },
  capabilities: { createContact: true, updateCall: true, createTask: true },
  defaultDispositions: HUBSPOT_DEFAULT_DISPOSITIONS,
  secrets: (s) => (s.auth.flow === 'private-app' ? [s.auth.tokenEnv] : [s.auth.clientSecretEnv, s.auth.refreshTokenEnv]),
  create: (connection, settings, deps) => new HubSpotProvider(connection, settings, deps),
});
