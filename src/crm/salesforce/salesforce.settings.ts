import { z } from 'zod';
import { lookupTimeoutSetting } from '../provider-definition';

/** Env-var names only: the values are secrets and never appear in the YAML. */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

export const salesforceSettings = z
  .object({
    type: z.literal('salesforce'),
    /** Where OAuth grants go: login.salesforce.com, test.salesforce.com (sandboxes) or your My Domain. */
    loginUrl: z.url().default('https://login.salesforce.com'),
    /** Normally leave out: every token response names the org's instance, and that wins. */
    instanceUrl: z.url().optional(),
    /** REST API version. jsforce defaults to 50.0 (Winter '21), far behind; this is Winter '25. */
    version: z
      .string()
      .regex(/^\d{2,3}\.0$/, 'must look like "62.0"')
      .default('62.0'),
    auth: z.discriminatedUnion('flow', [
      /** Web-server flow done once by an admin; the connector keeps (and persists rotated) refresh tokens. */
      z.object({ flow: z.literal('refresh-token'), clientId: z.string().min(1), clientSecretEnv: envName, refreshTokenEnv: envName }).strict(),
      /** Server-to-server: a JWT signed with the connected app's certificate key (PEM in the env var or its _FILE). */
      z
        .object({
          flow: z.literal('jwt'),
          clientId: z.string().min(1),
          username: z.string().min(1),
          privateKeyEnv: envName,
          /** JWT `aud`: https://login.salesforce.com, or https://test.salesforce.com for sandboxes (the default when loginUrl is one). */
          audience: z.url().optional(),
        })
        .strict(),
      /** Client credentials: runs as the connected app's "Run As" user; loginUrl must be your My Domain. */
      z.object({ flow: z.literal('client-credentials'), clientId: z.string().min(1), clientSecretEnv: envName }).strict(),
    ]),
    /** How long a lookup may take before it counts as failed (see lookupTimeoutSetting). */
    lookupTimeoutMs: lookupTimeoutSetting,
    /**
     * Task field holding the connector's idempotency key. The default, CallObject, exists in every
     * org; a custom unique External ID text field (VoipNow_Call_Key__c) lets CallObject hold the bare CallID.
     */
    callKeyField: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]{0,79}$/)
      .default('CallObject'),
    /** Company of the Lead created for an unknown caller (unknownCaller: create-contact): Salesforce requires one. */
    newLeadCompany: z.string().min(1).max(255).default('Unknown (VoipNow caller)'),
    /** Base of record links when it cannot be derived from the instance URL (e.g. https://acme.lightning.force.com). */
    lightningUrl: z.url().optional(),
  })
  .strict();

export type SalesforceSettings = z.infer<typeof salesforceSettings>;
export type SalesforceAuth = SalesforceSettings['auth'];
