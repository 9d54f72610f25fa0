/**
 * Lightning Experience links. Records live on the org's `lightning.force.com` domain, which is
 * derived from the My Domain API host: acme.my.salesforce.com → acme.lightning.force.com, keeping
 * the sandbox / developer-edition / scratch part (acme--uat.sandbox.my.salesforce.com →
 * acme--uat.sandbox.lightning.force.com). A host that is not a My Domain (a legacy na1 instance,
 * a proxy, a test server) keeps its own origin: Salesforce serves /lightning/ paths there too.
 */
export function lightningBase(instanceUrl: string, override?: string): string {
  if (override) return trimSlash(override);
  const url = new URL(instanceUrl);
  const m = /^(.+)\.my\.salesforce\.com$/i.exec(url.hostname);
  return m ? `https://${m[1]}.lightning.force.com` : url.origin;
}

/** The record's page in Lightning Experience. */
export function recordUrl(base: string, type: string, id: string): string {
  return `${base}/lightning/r/${encodeURIComponent(type)}/${encodeURIComponent(id)}/view`;
}

/** "New Contact" with the caller's number filled in (Lightning's defaultFieldValues URL parameter). */
export function newContactUrl(base: string, phone: string): string {
  return `${base}/lightning/o/Contact/new?defaultFieldValues=Phone=${encodeURIComponent(phone)}`;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
