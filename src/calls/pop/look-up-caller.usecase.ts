import { Inject, Injectable } from '@nestjs/common';
import { Logger } from 'pino';
import { ConfigStore } from '../../config/config.store';
import { LOGGER } from '../../config/config.tokens';
import { CrmError, PhoneQuery } from '../../crm/crm-provider';
import { CrmRegistry } from '../../crm/crm-registry.service';
import { CachePeek, LookupService } from '../../crm/lookup.service';
import { Lookup, PublishLookup } from './publish-card.usecase';

export interface PopResult {
  lookup: Lookup['status'];
  matches: number;
  /** The CRM answered after the budget: the card showed "looking up…" first. */
  late?: true;
}

/**
 * The CRM lookup of a card, within the screen pop's time budget: past it the card shows the
 * number with "looking up…" and fills in when the CRM answers. A failed lookup is shown, not thrown.
 */
@Injectable()
export class LookUpCaller {
  constructor(
    @Inject(LookupService) private readonly lookups: Pick<LookupService, 'lookup'>,
    @Inject(CrmRegistry) private readonly crm: Pick<CrmRegistry, 'get'>,
    @Inject(ConfigStore) private readonly store: Pick<ConfigStore, 'current'>,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async lookUp(target: { connection: string; query: PhoneQuery }, peeked: CachePeek | undefined, publish: PublishLookup): Promise<PopResult> {
    const { connection, query } = target;
    const provider = this.crm.get(connection);
    const result: Promise<Lookup> = this.lookups.lookup(connection, query, { peeked }).then(
      ({ matches }) => ({ status: 'done', connection, matches, newContactUrl: matches.length ? undefined : provider.newContactUrl?.(query.e164 ?? query.raw) }),
      (err: unknown) => {
        this.log.warn({ event: 'lookup.failed', connection, kind: err instanceof CrmError ? err.kind : 'error', err: (err as Error).message }, 'CRM lookup failed');
        return { status: 'error', connection, reason: err instanceof CrmError ? err.kind : 'error', matches: [] };
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), this.store.current.screenPop.lookupBudgetMs)));
    const first = await Promise.race([result, budget]);
    clearTimeout(timer);
    if (first) {
      await publish(first);
      return { lookup: first.status, matches: first.matches.length };
    }
    await publish({ status: 'pending', connection, matches: [] });
    const final = await result;
    await publish(final);
    return { lookup: final.status, matches: final.matches.length, late: true };
  }
}
