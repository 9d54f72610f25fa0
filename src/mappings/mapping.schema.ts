import { z } from 'zod';

/** What the connector does for a call on an extension. Every key is optional at every level. */
export const actionsSchema = z
  .object({
    /** Pop the caller's record when the extension is rung. */
    popOnDialIn: z.boolean(),
    /** Pop the called party's record when the extension dials out. */
    popOnDialOut: z.boolean(),
    logAnswered: z.boolean(),
    /** Missed, busy, failed and abandoned inbound calls. */
    logMissed: z.boolean(),
    /** Calls the extension made (answered or not). */
    logOutbound: z.boolean(),
    /** Extension-to-extension calls are neither looked up nor logged. */
    skipInternal: z.boolean(),
    /** A caller with no CRM record: log the call with no contact, create a record for the caller and log against it, or do not log it. */
    unknownCaller: z.enum(['log-without-contact', 'create-contact', 'ignore']),
    /**
     * per-call: a call that rings several extensions (ring group, queue, transfer) is one activity,
     * owned by whoever answered; per-extension: one activity per extension it rang.
     */
    callLogging: z.enum(['per-call', 'per-extension']),
    /** A missed inbound call also creates a follow-up task for its owner (due the same day). */
    followUpMissed: z.boolean(),
  })
  .partial()
  .strict();

export type Actions = Required<z.infer<typeof actionsSchema>>;

export const DEFAULT_ACTIONS: Actions = {
  popOnDialIn: true,
  popOnDialOut: true,
  logAnswered: true,
  logMissed: true,
  logOutbound: true,
  skipInternal: true,
  unknownCaller: 'log-without-contact',
  callLogging: 'per-call',
  followUpMissed: false,
};

export const ownerSchema = z.union([z.object({ id: z.string().min(1) }).strict(), z.object({ email: z.email() }).strict()], {
  // A union of two options reports one kind of issue, invalid_union, whatever the value.
  error: () => 'owner must be {id: <CRM user id>} or {email: <CRM user e-mail>}',
});

export const ruleSchema = z
  .object({
    /** Name of a connection under `connections`. */
    connection: z.string().min(1),
    /** CRM user who owns the logged activity: an id, or an e-mail looked up once. */
    owner: ownerSchema,
    /** What agents see for this extension ("Ann Lee"); on an organisation or defaults it names nobody and is ignored. */
    label: z.string().trim().min(1).max(80),
    /** ISO country for numbers without an international prefix (US, BE, GB...). */
    country: z
      .string()
      .regex(/^[A-Za-z]{2}$/, 'must be a two-letter ISO country code such as US or GB')
      .transform((c) => c.toUpperCase()),
    actions: actionsSchema,
  })
  .partial()
  .strict();

export type MappingRule = z.infer<typeof ruleSchema>;

export const ORGANISATION_PATTERN = /^\d{1,12}\*$/;
export const EXTENSION_PATTERN = /^\d{1,12}(\*\d{1,12})?$/;

export const mappingsSchema = z
  .object({
    defaults: ruleSchema.optional(),
    /** Keys are organisation wildcards: "0003*". */
    organisations: z.record(z.string().regex(ORGANISATION_PATTERN, 'must be an organisation wildcard like "0003*"'), ruleSchema).default({}),
    /** Keys are extended extension numbers ("0003*210") or short ones ("210"). */
    extensions: z.record(z.string().regex(EXTENSION_PATTERN, 'must be an extension like "0003*210"'), ruleSchema).default({}),
  })
  .strict();

export type Mappings = z.infer<typeof mappingsSchema>;
