import { Inject, Injectable } from '@nestjs/common';
import { Logger } from 'pino';
import { LOGGER } from '../../config/config.tokens';
import { ActivityPatch, CallLogInput, CrmMatch, FollowUpInput, LoggedActivity, PhoneQuery } from '../../crm/crm-provider';
import { CrmBatcher } from '../../crm/crm-batcher.service';
import { CrmRegistry } from '../../crm/crm-registry.service';
import { LookupService } from '../../crm/lookup.service';
import { phoneQuery } from '../../crm/phone';
import { MappingService } from '../../mappings/mapping.service';
import { ResolvedMapping } from '../../mappings/resolve-mapping';
import { MetricsService } from '../../metrics/metrics.service';
import { StoredWrapUp } from '../call-state.service';
import { CallToLog } from './call-to-log';

/** The record the agent picked on the card, when it is among the matches (or is the contact the card created). */
export function chosenRecord(wrapUp: StoredWrapUp | undefined, matches: CrmMatch[]): CrmMatch | undefined {
  if (!wrapUp?.recordId) return undefined;
  return matches.find((m) => m.id === wrapUp.recordId) ?? (wrapUp.created?.id === wrapUp.recordId ? wrapUp.created : undefined);
}

/**
 * The CRM as call logging uses it: lookups batched with other calls', writes timed per connection,
 * optional capabilities asked for by name. Errors come through as the providers classified them.
 */
@Injectable()
export class CallCrm {
  constructor(
    @Inject(CrmRegistry) private readonly crm: Pick<CrmRegistry, 'get' | 'dispositions'>,
    @Inject(LookupService) private readonly lookups: Pick<LookupService, 'lookup' | 'invalidate'>,
    @Inject(CrmBatcher) private readonly batcher: Pick<CrmBatcher, 'logCall'>,
    @Inject(MetricsService) private readonly metrics: Pick<MetricsService, 'timeCrm'>,
    @Inject(MappingService) private readonly mappings: Pick<MappingService, 'ownerId'>,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** The CRM records holding the call's number. Usually a cache hit (the Dial-In looked it up); otherwise batched. */
  async matches(call: CallToLog): Promise<{ query?: PhoneQuery; matches: CrmMatch[] }> {
    const query = phoneQuery(call.record.remoteNumber, call.mapping.country);
    return { query, matches: query ? (await this.lookups.lookup(call.connection, query, { bulk: true })).matches : [] };
  }

  /** The CRM user who owns the call's activities (the mapping's owner). */
  ownerId(mapping: ResolvedMapping): Promise<string | undefined> {
    return this.mappings.ownerId(mapping);
  }

  /** Batched with the other calls logged on this connection within the batch's linger time. */
  logCall(connection: string, input: CallLogInput): Promise<LoggedActivity> {
    return this.metrics.timeCrm(connection, 'logCall', () => this.batcher.logCall(connection, input));
  }

  canUpdate(connection: string): boolean {
    return !!this.crm.get(connection).updateCall;
  }

  /** Changes a logged activity; false when the connection's CRM cannot. */
  async updateCall(connection: string, activityId: string, patch: ActivityPatch): Promise<boolean> {
    const provider = this.crm.get(connection);
    const updateCall = provider.updateCall?.bind(provider);
    if (!updateCall) return false;
    await this.metrics.timeCrm(connection, 'updateCall', () => updateCall(activityId, patch));
    return true;
  }

  /** Creates a follow-up task; undefined when the connection's CRM has no tasks. */
  async createTask(connection: string, input: FollowUpInput): Promise<LoggedActivity | undefined> {
    const provider = this.crm.get(connection);
    const createTask = provider.createTask?.bind(provider);
    return createTask && this.metrics.timeCrm(connection, 'createTask', () => createTask(input));
  }

  canCreateTask(connection: string): boolean {
    return !!this.crm.get(connection).createTask;
  }

  /** The unknown caller becomes a CRM record (once per call, across retries) that the call is logged against. */
  async createContact(call: CallToLog, query: PhoneQuery, ownerId: string | undefined): Promise<CrmMatch | undefined> {
    const { record, connection, key } = call;
    const provider = this.crm.get(connection);
    // Config validation refuses create-contact on a CRM type without it; this only guards a provider swapped mid-job.
    const createContact = provider.createContact?.bind(provider);
    if (!createContact) return undefined;
    const name = record.direction === 'inbound' ? record.caller.name : undefined;
    const created = await this.metrics.timeCrm(connection, 'createContact', () => createContact({ key, number: query.e164 ?? query.raw, name, ownerId }));
    // The cached "not found" would hide the new record from this caller's next call.
    await this.lookups.invalidate(connection, query).catch(() => undefined);
    this.log.info({ event: 'crm.contact_created', callId: record.callId, extension: record.extension, connection, contactId: created.id }, 'contact created for an unknown caller');
    return created;
  }

  /** The disposition as the CRM stores it, for the key the agent chose on the card. */
  disposition(connection: string, key: string | undefined): string | undefined {
    return key ? this.crm.dispositions(connection).find((d) => d.key === key)?.value : undefined;
  }
}
