import { CONNECTION_DEFAULTS, connectionNamed } from '../config/config.schema';
import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { ConfigStore } from '../config/config.store';
import { CallLogInput, CrmMatch, CrmProvider, LoggedActivity, PhoneQuery } from './crm-provider';
import { CrmRegistry } from './crm-registry.service';

interface Loaders {
  lookups?: DataLoader<PhoneQuery, CrmMatch[]>;
  logs?: DataLoader<CallLogInput, LoggedActivity>;
}

/**
 * Call logging under load: the lookups and the activities of many calls on one connection go to
 * the CRM as one batched request each (HubSpot: an IN-filtered search, calls/batch/create), so one
 * request serves up to `maxBatch` calls instead of one. Items wait at most `batch.lingerMs` for
 * company, so a lone call is still logged at once; while the connection's request budget makes a
 * batch wait, the next one fills up. Providers without batch methods get single-item calls.
 * Screen-pop lookups never come through here: they are individual and first in line.
 */
@Injectable()
export class CrmBatcher {
  // Keyed by provider instance: a config reload builds new providers, and with them new loaders.
  private readonly loaders = new WeakMap<CrmProvider, Loaders>();

  constructor(
    private readonly crm: CrmRegistry,
    private readonly store: ConfigStore,
  ) {}

  findContacts(connection: string, query: PhoneQuery): Promise<CrmMatch[]> {
    const provider = this.crm.get(connection);
    const lookups = this.loadersFor(connection, provider).lookups;
    return lookups ? lookups.load(query) : provider.findContactsByPhone(query);
  }

  logCall(connection: string, input: CallLogInput): Promise<LoggedActivity> {
    const provider = this.crm.get(connection);
    const logs = this.loadersFor(connection, provider).logs;
    return logs ? logs.load(input) : provider.logCall(input);
  }

  private loadersFor(connection: string, provider: CrmProvider): Loaders {
    let loaders = this.loaders.get(provider);
    if (loaders) return loaders;
    const settings = connectionNamed(this.store.current, connection)?.batch ?? CONNECTION_DEFAULTS.batch;
    const maxBatchSize = Math.min(settings.maxSize, provider.maxBatch ?? 1);
    const options = {
      cache: false,
      maxBatchSize,
      batchScheduleFn: (dispatch: () => void) => setTimeout(dispatch, settings.lingerMs),
    };
    loaders = {};
    if (maxBatchSize > 1 && provider.findContactsByPhones) {
      const findMany = provider.findContactsByPhones.bind(provider);
      loaders.lookups = new DataLoader<PhoneQuery, CrmMatch[]>((queries) => findMany([...queries]), options);
    }
    if (maxBatchSize > 1 && provider.logCalls) {
      const logMany = provider.logCalls.bind(provider);
      loaders.logs = new DataLoader<CallLogInput, LoggedActivity>((inputs) => logMany([...inputs]), options);
    }
    this.loaders.set(provider, loaders);
    return loaders;
  }
}
