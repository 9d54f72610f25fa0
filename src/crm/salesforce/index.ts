import { defineProvider } from '../provider-definition';
import { SalesforceProvider } from './salesforce.provider';
import { salesforceSettings } from './salesforce.settings';

export const salesforceProvider = defineProvider({
  type: 'salesforce',
  settings: salesforceSettings,
  // Salesforce has no per-second REST limit, only a rolling 24-hour total that depends on edition
  // and licences (set it as rateLimit.perDay) and 25 concurrent long requests: stay well below that.
  defaultBudget: { requests: 25, perSeconds: 1 },
  capabilities: { createContact: true, updateCall: true, createTask: true },
  // Task.CallDisposition is free text (255 characters): the label itself is what a salesperson reads in the org.
  defaultDispositions: ['Connected', 'Left voicemail', 'No answer', 'Busy', 'Wrong number', 'Follow-up needed'].map((label) => ({
    key: label.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
    label,
    value: label,
  })),
  secrets: (s) => (s.auth.flow === 'jwt' ? [s.auth.privateKeyEnv] : s.auth.flow === 'refresh-token' ? [s.auth.clientSecretEnv, s.auth.refreshTokenEnv] : [s.auth.clientSecretEnv]),
  create: (connection, settings, deps) => new SalesforceProvider(connection, settings, deps),
});
