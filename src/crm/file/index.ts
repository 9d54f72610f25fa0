import { resolve } from 'node:path';
import { defineProvider } from '../provider-definition';
import { FileProvider } from './file.provider';
import { fileSettings } from './file.settings';

export const fileProvider = defineProvider({
  type: 'file',
  settings: fileSettings,
  secrets: () => [],
  capabilities: { createContact: true, updateCall: true, createTask: true },
  // The log is read by people: the label itself is what a line's `disposition` holds.
  defaultDispositions: ['Connected', 'Left voicemail', 'No answer', 'Busy', 'Wrong number', 'Follow-up needed'].map((label) => ({
    key: label.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
    label,
    value: label,
  })),
  create: (connection, settings, deps) =>
    new FileProvider(
      connection,
      {
        contactsCsv: resolve(deps.configDir, settings.contactsCsv),
        callLogFile: resolve(deps.configDir, settings.callLogFile),
        country: settings.country,
      },
      deps.signRecordPath?.bind(deps),
    ),
});
