import { Inject, Injectable } from '@nestjs/common';
import { CrmRegistry } from '../crm/crm-registry.service';
import { ResolvedMapping } from '../mappings/resolve-mapping';
import { CallRecord } from './call-record';
import { CallUpdate } from './call-update.publisher';
import { CardOffers } from './wrap-up';

/**
 * What a card shows beside the call itself: friendly names, and what the agent may do on it
 * (wrap-up, dispositions, create contact), from the mapping and the connection's CRM.
 */
@Injectable()
export class CardService {
  constructor(@Inject(CrmRegistry) private readonly crm: Pick<CrmRegistry, 'displayName' | 'names' | 'get' | 'dispositions'>) {}

  labels(mapping: ResolvedMapping): CallUpdate['labels'] {
    const labels: NonNullable<CallUpdate['labels']> = {};
    if (mapping.label) labels.extension = mapping.label;
    if (mapping.connection) labels.connection = this.crm.displayName(mapping.connection);
    return labels.extension || labels.connection ? labels : undefined;
  }

  /** Nothing to offer on a call the connector does not log (unmapped extension, internal call). */
  offers(mapping: ResolvedMapping, record: CallRecord, opts: { internal: boolean; logsAt?: number }): CardOffers | undefined {
    if (!mapping.connection || opts.internal || !this.crm.names().includes(mapping.connection)) return undefined;
    const provider = this.crm.get(mapping.connection);
    return {
      wrapUp: !!provider.updateCall,
      dispositions: this.crm.dispositions(mapping.connection).map(({ key, label }) => ({ key, label })),
      createContact: !!provider.createContact && !!record.remoteNumber,
      ...(opts.logsAt ? { logsAt: opts.logsAt } : {}),
    };
  }
}
