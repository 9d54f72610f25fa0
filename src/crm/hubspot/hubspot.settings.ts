import { z } from 'zod';
import { lookupTimeoutSetting } from '../provider-definition';

export const hubspotSettings = z
  .object({
    type: z.literal('hubspot'),
    basePath: z.url().default('https://api.hubapi.com'),
    auth: z.discriminatedUnion('flow', [
      /** Private app access token (Settings → Integrations → Private apps). */
      z.object({ flow: z.literal('private-app'), tokenEnv: z.string().min(1) }).strict(),
      z.object({ flow: z.literal('oauth'), clientId: z.string().min(1), clientSecretEnv: z.string().min(1), refreshTokenEnv: z.string().min(1) }).strict(),
    ]),
    /** Taken from GET /account-info/v3/details when not given (EU portals: app-eu1.hubspot.com). */
    portalId: z.number().int().optional(),
    uiDomain: z.string().optional(),
    /** How long a lookup may take before it counts as failed (see lookupTimeoutSetting). */
    lookupTimeoutMs: lookupTimeoutSetting,
    /** Custom Call property holding the connector's idempotency key; created (unique) on first use if missing. */
    callKeyProperty: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,99}$/)
      .default('voipnow_call_key'),
    /** Custom contact property holding the number a contact was created for (unknownCaller: create-contact); created (unique) on first use. */
    contactKeyProperty: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,99}$/)
      .default('voipnow_caller_number'),
    /** Custom task property holding a follow-up task's key (a missed call's call-back, once per call); created on first use. */
    taskKeyProperty: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,99}$/)
      .default('voipnow_followup_key'),
    /**
     * Whether contacts created for unknown callers should be marketing contacts (billed, mailable).
     * HubSpot's API cannot set a contact's marketing status: it follows the app's switch in Settings →
     * Integrations → Marketing contacts (off by default). The connector reads the status of each
     * contact it creates and warns when it differs from this.
     */
    createdContactsMarketing: z.boolean().default(false),
  })
  .strict();

export type HubSpotSettings = z.infer<typeof hubspotSettings>;
