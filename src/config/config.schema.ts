import { z } from 'zod';
import { CRM_PROVIDERS } from '../crm/providers';
import { mappingsSchema } from '../mappings/mapping.schema';

/**
 * Every default of the YAML configuration is written once, on its key below (`.default(…)`), or in
 * the CRM type's settings schema; a section left out is parsed from `{}` (`.prefault({})`), so it
 * gets those same defaults. Code reads the parsed config rather than restating a default, and
 * docs/configuration.md lists them (config.defaults.spec.ts keeps the two in step).
 */

/** Settings every connection has, whatever its CRM. */
const commonConnectionSettings = {
  /** The name agents and ops see for this connection ("Salesforce EU"); the connection's key when absent. */
  displayName: z.string().trim().min(1).max(80).optional(),
  /**
   * The dispositions the agent's card offers for calls on this connection, in this order: `key`
   * is what the page sends, `label` what the agent reads, `value` what the CRM stores (Salesforce:
   * the Task's CallDisposition text; HubSpot: a call outcome id). The provider's defaults when absent.
   */
  dispositions: z
    .array(
      z
        .object({
          key: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'a disposition key is lower-case letters, digits, _ and - (e.g. left-voicemail)'),
          label: z.string().trim().min(1).max(80),
          value: z.string().trim().min(1).max(255),
        })
        .strict(),
    )
    .max(50)
    .refine((list) => new Set(list.map((d) => d.key)).size === list.length, 'a disposition key is listed twice')
    .optional(),
  /**
   * The CRM's API budget for this connection: at most `requests` in any rolling `perSeconds`
   * window (and `perDay`). Every request is scheduled against it; call logging leaves a share of
   * each window to screen-pop lookups. Defaults to what the CRM documents for a standard account.
   */
  rateLimit: z
    .object({ requests: z.number().int().min(2), perSeconds: z.number().int().min(1).max(3600), perDay: z.number().int().min(1).optional() })
    .strict()
    .optional(),
  /** Call logging under load: up to `maxSize` calls per CRM request, each waiting at most `lingerMs` for company. */
  batch: z
    .object({ maxSize: z.number().int().min(1).max(200).default(100), lingerMs: z.number().int().min(0).max(10_000).default(250) })
    .strict()
    .prefault({}),
  /** Lookup cache: how long a found record and a "not found" are remembered. */
  cache: z
    .object({ hitSeconds: z.number().int().min(0).default(600), missSeconds: z.number().int().min(0).default(60) })
    .strict()
    .prefault({}),
};

/** The settings every connection has, as a connection that sets none of them gets them. */
export const CONNECTION_DEFAULTS = z.object(commonConnectionSettings).parse({});

const connectionSchema = z.discriminatedUnion(
  'type',
  CRM_PROVIDERS.map((p) => p.settings.extend(commonConnectionSettings)) as unknown as [z.ZodObject<{ type: z.ZodLiteral<string> }>, ...z.ZodObject<{ type: z.ZodLiteral<string> }>[]],
  // zod's type names only invalid_union, but a connection that is not a map reaches this as invalid_type (keeps zod's message).
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- see above: zod also calls this with invalid_type
  { error: (issue) => (issue.code === 'invalid_union' ? `type must be one of: ${CRM_PROVIDERS.map((p) => p.type).join(', ')}` : undefined) },
);

export type ConnectionSettings = z.infer<typeof connectionSchema> & {
  type: string;
  displayName?: string;
  dispositions?: { key: string; label: string; value: string }[];
  rateLimit?: { requests: number; perSeconds: number; perDay?: number };
  batch: { maxSize: number; lingerMs: number };
  cache: { hitSeconds: number; missSeconds: number };
};

/**
 * The connector's YAML configuration. Secrets are never part of it: settings that need one name
 * the environment variable that holds it (`...Env` keys).
 */
export const connectorConfigSchema = z
  .object({
    ingest: z
      .object({
        /** Parameters VoipNow (or an admin) adds beyond the documented ones are kept, up to this many. */
        maxExtraParameters: z.number().int().min(0).max(200).default(32),
      })
      .strict()
      .prefault({}),
    calls: z
      .object({
        /** How long a call record stays in Redis after its last event. */
        recordTtlHours: z
          .number()
          .min(1)
          .max(24 * 30)
          .default(48),
        /** Call logging waits this long after Hangup so a late Answer event still counts. */
        hangupSettleMs: z.number().int().min(0).max(60_000).default(2000),
        /**
         * An answered call whose agent has the card open is logged this long after Hangup (or as
         * soon as the agent saves the wrap-up), so notes and disposition land with the log; a
         * wrap-up saved later updates the logged activity. 0 logs at once.
         */
        wrapUpWindowSeconds: z.number().int().min(0).max(3600).default(30),
      })
      .strict()
      .prefault({}),
    workers: z
      .object({
        screenPopConcurrency: z.number().int().min(1).max(1000).default(250),
        callLogConcurrency: z.number().int().min(1).max(1000).default(10),
        /** Attempts for a call-log job before it stays in the failed set for ops to replay. */
        callLogAttempts: z.number().int().min(1).max(100).default(12),
        /** First retry delay of a call-log job; each further one doubles (with jitter). */
        callLogBackoffMs: z.number().int().min(100).max(3_600_000).default(5000),
        /** A job whose worker died is handed to another worker after this long (BullMQ lock duration). */
        lockDurationMs: z.number().int().min(1000).max(600_000).default(30_000),
      })
      .strict()
      .prefault({}),
    screenPop: z
      .object({
        /** How long a pop waits for the CRM before showing the number with "looking up…". */
        lookupBudgetMs: z.number().int().min(0).max(10_000).default(1500),
      })
      .strict()
      .prefault({}),
    connections: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'connection names are letters, digits, _ and -'), connectionSchema).default({}),
    mappings: mappingsSchema.default({ organisations: {}, extensions: {} }),
  })
  .strict();

/** The configuration of an empty file: every default, in one object. */
export const CONFIG_DEFAULTS = connectorConfigSchema.parse({});

export type ConnectorConfig = Omit<z.infer<typeof connectorConfigSchema>, 'connections'> & {
  connections: Record<string, ConnectionSettings>;
};

/** A connection named by a mapping, a job or a request: undefined when the configuration has none by that name. */
export function connectionNamed(config: Pick<ConnectorConfig, 'connections'>, name: string): ConnectionSettings | undefined {
  return config.connections[name];
}
