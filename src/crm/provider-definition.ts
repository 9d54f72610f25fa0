import type { RedisClient } from '../redis/redis-connection';
import { Logger } from 'pino';
import { z } from 'zod';
import { CrmProvider } from './crm-provider';
import { BudgetLimits, RequestBudgetHandle } from './request-budget';

/** How long a lookup may take when a connection sets no `lookupTimeoutMs`. */
export const DEFAULT_LOOKUP_TIMEOUT_MS = 8000;
/** The largest `lookupTimeoutMs` a connection may set (a hard ceiling on one lookup can be this, and cut none its connection allows). */
export const MAX_LOOKUP_TIMEOUT_MS = 30_000;

/**
 * `lookupTimeoutMs`, as every CRM type with remote lookups takes it: how long a lookup (search and
 * the card's context) may take before it counts as failed. Must be above screenPop.lookupBudgetMs:
 * past the budget the card shows "Looking up…" and fills in when the CRM answers, so a time-out at
 * the budget would leave it unfilled. Writes get longer (`writeTimeoutMs`).
 */
export const lookupTimeoutSetting = z.number().int().min(100).max(MAX_LOOKUP_TIMEOUT_MS).default(DEFAULT_LOOKUP_TIMEOUT_MS);

/** Requests other than lookups (writes, grants, batched searches): twice the lookup's time-out, at least 15 s. */
export function writeTimeoutMs(lookupTimeoutMs: number): number {
  return Math.max(15_000, lookupTimeoutMs * 2);
}

/** What a provider gets from the connector besides its own settings. */
export interface ProviderDeps {
  /** Reads a secret named in settings (`clientSecretEnv: SF_CLIENT_SECRET`): env var NAME, or the file in NAME_FILE. */
  secret(envName: string): string;
  /** Shared Redis (not fail-fast): for state that must survive restarts and be shared by instances. */
  redis: RedisClient;
  /** Prefix for this connection's own keys, e.g. `vncc:crm:sf-eu`; add `:<what>` after it. */
  keyPrefix: string;
  logger: Logger;
  /** Directory of the config file: relative paths in settings are relative to it. */
  configDir: string;
  /** Signs the path of a record page the connector serves (see record-signature.ts): `?sig=` on its link. */
  signRecordPath?(path: string): string;
  /** The connection's request budget (config `rateLimit`): acquire one unit before each request to the CRM. */
  budget?: RequestBudgetHandle;
}

/**
 * One registration per CRM type (see providers.ts). `settings` is the zod schema of the
 * connection's YAML block, with `type: z.literal(<type>)`, so each provider receives exactly its
 * own settings, type-checked; `secrets` lists the env-var names its settings refer to, so config
 * validation can report a missing one before start.
 */
export interface CrmProviderDefinition<S extends z.ZodObject<{ type: z.ZodLiteral<string> }> = z.ZodObject<{ type: z.ZodLiteral<string> }>> {
  type: string;
  settings: S;
  secrets(settings: z.infer<S>): string[];
  /** Optional CrmProvider methods this type implements, so config validation can refuse a mapping that needs a missing one. */
  capabilities?: { createContact?: boolean; updateCall?: boolean; createTask?: boolean };
  /**
   * The dispositions a card offers on this CRM when a connection lists none: `value` is what the
   * CRM stores (Salesforce: the Task's CallDisposition text; HubSpot: a call outcome id).
   */
  defaultDispositions?: Disposition[];
  /** The API budget the CRM documents for a standard account, used when a connection sets no `rateLimit`. */
  defaultBudget?: BudgetLimits;
  create(connection: string, settings: z.infer<S>, deps: ProviderDeps): CrmProvider;
}

/** One choice of the card's disposition list: `key` is what the page sends, `value` what the CRM gets. */
export interface Disposition {
  key: string;
  label: string;
  value: string;
}

/** A connection's settings as the config schema validated them: its type's own keys and the keys every connection has. */
export type ValidatedConnection = { type: string } & Record<string, unknown>;

/**
 * A definition as the registry and config validation use it, for any connection whatever its type:
 * it reads the connection's own settings back through its schema (the keys every connection has,
 * such as `displayName`, are left out), so `create` and `secrets` receive exactly their settings,
 * typed, with no cast.
 */
export interface RegisteredProvider<S extends z.ZodObject<{ type: z.ZodLiteral<string> }> = z.ZodObject<{ type: z.ZodLiteral<string> }>> extends CrmProviderDefinition<S> {
  createFor(connection: string, settings: ValidatedConnection, deps: ProviderDeps): CrmProvider;
  secretsOf(settings: ValidatedConnection): string[];
}

/** Registers a CRM type: keeps the settings type of the definition and adds what the registry needs to hand it its settings. */
export function defineProvider<S extends z.ZodObject<{ type: z.ZodLiteral<string> }>>(def: CrmProviderDefinition<S>): RegisteredProvider<S> {
  // Parsing what was parsed already changes nothing (defaults are set, no transforms): it only
  // narrows the settings to this type's, and drops the common keys the strict schema would refuse.
  const own = (settings: ValidatedConnection) => {
    const keys = Object.keys(def.settings.shape);
    return def.settings.safeParse(Object.fromEntries(Object.entries(settings).filter(([k]) => keys.includes(k))));
  };
  return {
    ...def,
    createFor: (connection, settings, deps) => {
      const parsed = own(settings);
      if (!parsed.success) throw new Error(`Connection "${connection}" does not hold valid ${def.type} settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return def.create(connection, parsed.data, deps);
    },
    // Config validation also asks a file that failed validation (to list every problem at once): settings that do not parse name no secret, their own problems are reported.
    secretsOf: (settings) => {
      const parsed = own(settings);
      return parsed.success ? def.secrets(parsed.data) : [];
    },
  };
}
