import { resolve } from 'node:path';
import { defineProvider } from '../provider-definition';
import { FileProvider } from './file.provider';
import { fileSettings } from './file.settings';

export const fileProvider = defineProvider({
  type: 'file',
  settings: fileSettings,
  secrets: () => [],
  capabilities: { createContact: true },
  create: (connection, settings, deps) =>
    new FileProvider(connection, {
      contactsCsv: resolve(deps.configDir, settings.contactsCsv),
      callLogFile: resolve(deps.configDir, settings.callLogFile),
      country: settings.country,
    }, deps.signRecordPath?.bind(deps)),
});
