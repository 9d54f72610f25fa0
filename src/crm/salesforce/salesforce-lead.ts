import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../../queue/redis';
import { CrmError, NewContactInput } from '../crm-provider';
import { soqlString } from './salesforce-queries';

const LEAD_FIELDS = 'Id, Name, Phone, MobilePhone, Company, Title, Email, OwnerId, Owner.Name, LastActivityDate, LastModifiedDate';

/**
 * The Lead for an unknown caller. A Lead rather than a Contact because a Contact belongs to an
 * Account the connector cannot know; Salesforce requires a Lead's Company, so it gets a
 * placeholder (`newLeadCompany`) the salesperson replaces. The caller ID name is one string
 * ("J ROE", "ACME CORP"), kept whole as LastName (required); without one the number is the name.
 */
export function newLead(input: NewContactInput, company: string): Record<string, unknown> {
  const lead: Record<string, unknown> = {
    LastName: (input.name || input.number).slice(0, 80),
    Company: company.slice(0, 255),
    Phone: input.number.slice(0, 40),
    Description: `Created by the VoipNow connector for an unknown caller (call ${input.key}).`,
  };
  if (input.ownerId) lead.OwnerId = input.ownerId;
  return lead;
}

/**
 * The open Lead whose Phone is exactly this number: the one an earlier attempt created (its
 * answer lost), or another call's. SOQL reads committed records at once, unlike SOSL, whose index
 * lags new records.
 */
export function leadByPhone(number: string): string {
  return `SELECT ${LEAD_FIELDS} FROM Lead WHERE Phone = ${soqlString(number)} AND IsConverted = false LIMIT 1`;
}

const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * One Lead creation per number at a time, across workers and instances, so two calls from a new
 * number ending together do not both miss the other's Lead. Waits up to `waitMs` for the holder.
 */
export async function withNumberLock<T>(redis: RedisClient, key: string, waitMs: number, work: () => Promise<T>): Promise<T> {
  const token = randomBytes(8).toString('hex');
  const deadline = Date.now() + waitMs;
  // Held at most a write's time-out; a crashed holder's lock expires by itself.
  while ((await redis.set(key, token, 'PX', waitMs, 'NX')) !== 'OK') {
    if (Date.now() >= deadline) throw new CrmError('retryable', 'Another worker is still creating a Lead for this number; the call will be retried.', { code: 'LEAD_LOCKED' });
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await work();
  } finally {
    await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
  }
}
