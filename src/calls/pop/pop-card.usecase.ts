import { Injectable } from '@nestjs/common';
import { CallEvent } from '../../ingest/call-event';
import { shouldLookUp } from '../../mappings/decide';
import { LookUpCaller, PopResult } from './look-up-caller.usecase';
import { PublishCard } from './publish-card.usecase';
import { ResolvePop } from './resolve-pop.usecase';
import { TellRingingLegs } from './tell-ringing-legs.usecase';

/** The pop job's result: how the lookup went, or why the page got no update. */
export type PopOutcome = PopResult | { lookup: 'skipped' } | { skipped: string };

/**
 * Latency-critical: turns each call event into an update of the agent's card. Redis round trips
 * on the way to the card: the call record (with the number's cache entry read alongside), then
 * one script that publishes the update and writes the ops notes.
 */
@Injectable()
export class PopCard {
  constructor(
    private readonly resolve: ResolvePop,
    private readonly ringingLegs: TellRingingLegs,
    private readonly card: PublishCard,
    private readonly lookUp: LookUpCaller,
  ) {}

  async pop(event: CallEvent): Promise<PopOutcome> {
    const target = await this.resolve.resolve(event);
    if ('skipped' in target) return target;
    const { record, mapping, peeked } = target;
    const answeredBy = await this.ringingLegs.takenBy(event, record);
    const publish = this.card.prepare(event, record, mapping, answeredBy);
    const look = shouldLookUp(record, mapping, peeked);
    if (!look.yes) {
      await publish({ status: 'skipped', reason: look.reason, matches: [] });
      return { lookup: 'skipped' };
    }
    return this.lookUp.lookUp(look, peeked?.cache, publish);
  }
}
