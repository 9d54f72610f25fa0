import { AppEnv } from '../config/env';

/**
 * The embedded panels' settings, read once at start from the process environment (through
 * AppEnv, so `NAME_FILE` works too and tests hand them to startApp like any variable):
 *
 * - `EMBED_SALESFORCE_ORIGINS`: the Lightning origins of the org(s) whose softphone may frame
 *   /embed/salesforce (`https://acme.lightning.force.com`, a sandbox's, …). Unset: that panel is
 *   refused everywhere.
 * - `EMBED_HUBSPOT_ORIGINS`: the HubSpot app origins that may frame /embed/hubspot; default
 *   HubSpot's own `https://app.hubspot.com,https://app-eu1.hubspot.com`.
 * - `EMBED_OPENCTI_VERSION`: the Open CTI API version the Salesforce panel loads (default 62.0).
 * - `EMBED_SESSION_TTL_HOURS`: how long a panel's stream token lives before the panel renews it (12).
 * - `EMBED_SESSION_CHECK_SECONDS`: how often an open panel asks whether its binding still holds (60):
 *   a revoked binding empties the panel within that time.
 */
export interface EmbedSettings {
  salesforceOrigins: string[];
  hubspotOrigins: string[];
  openCtiVersion: string;
  sessionTtlHours: number;
  sessionCheckSeconds: number;
}

export const DEFAULT_HUBSPOT_ORIGINS = ['https://app.hubspot.com', 'https://app-eu1.hubspot.com'];

export class EmbedSettingsError extends Error {}

export function readEmbedSettings(env: Pick<AppEnv, 'secret'>): EmbedSettings {
  const problems: string[] = [];
  const origins = (name: string, fallback: string[]): string[] => {
    const raw = env.secret(name);
    if (raw === undefined) return fallback;
    const list = raw
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean);
    const out: string[] = [];
    for (const value of list) {
      const origin = originOf(value);
      if (origin) out.push(origin);
      else problems.push(`${name}: "${value}" is not an origin like https://acme.lightning.force.com (https, no path; http only for localhost/127.0.0.1)`);
    }
    return out;
  };
  const number = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env.secret(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) problems.push(`${name}: must be a number from ${min} to ${max}, not "${raw}"`);
    return n;
  };
  const version = env.secret('EMBED_OPENCTI_VERSION') ?? '62.0';
  if (!/^\d{2,3}\.0$/.test(version)) problems.push(`EMBED_OPENCTI_VERSION: must be a Salesforce API version like 62.0, not "${version}"`);
  const settings: EmbedSettings = {
    salesforceOrigins: origins('EMBED_SALESFORCE_ORIGINS', []),
    hubspotOrigins: origins('EMBED_HUBSPOT_ORIGINS', DEFAULT_HUBSPOT_ORIGINS),
    openCtiVersion: version,
    sessionTtlHours: number('EMBED_SESSION_TTL_HOURS', 12, 0.05, 24 * 7),
    sessionCheckSeconds: number('EMBED_SESSION_CHECK_SECONDS', 60, 1, 3600),
  };
  if (problems.length) throw new EmbedSettingsError(`Invalid environment for the embedded CRM panels:\n${problems.map((p) => `  ${p}`).join('\n')}\nFix these variables and start again.`);
  return settings;
}

/**
 * The origin a CSP source list and postMessage compare against: scheme, host and port only.
 * Plain http only on loopback (a local test host); a CRM is always https.
 */
export function originOf(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) return undefined;
  if (!/^[a-z0-9.-]+(:\d+)?$/i.test(url.host)) return undefined;
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) return undefined;
  return url.origin;
}
