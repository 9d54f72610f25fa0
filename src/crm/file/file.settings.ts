import { z } from 'zod';

/** Contacts from a CSV, call logs appended to a JSON-lines file: a CRM for the quickstart and tests. */
export const fileSettings = z
  .object({
    type: z.literal('file'),
    /** CSV with a header row: id,name,company,phone,mobile,email,owner (relative to the config file). */
    contactsCsv: z.string().min(1),
    /** JSON-lines file the calls are appended to (relative to the config file); created if missing. */
    callLogFile: z.string().min(1),
    /** Country for numbers in the CSV written without an international prefix. */
    country: z.string().length(2).default('US'),
  })
  .strict();

export type FileSettings = z.infer<typeof fileSettings>;
