import { Injectable } from '@nestjs/common';
import { CrmMatch } from '../crm/crm-provider';
import { WrapUp, WrapUpView } from './wrap-up';

/** A refused wrap-up or contact creation: the HTTP status to answer and a message the agent can act on. */
export class WrapUpError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 502 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'WrapUpError';
  }
}

/**
 * The card's writes: the agent's wrap-up and contacts created from the card. Saved in Redis and
 * published to the call's cards; the call-log worker writes them to the CRM activity once.
 */
@Injectable()
export class WrapUpService {
  /**
   * Saves (merges) the wrap-up of the call `extension` saw. Throws WrapUpError: 404 no such call
   * on this extension, 400 a disposition or record the call does not offer, 409 nothing to wrap up
   * (the call is not logged on this extension's connection).
   */
  async save(callId: string, extension: string, patch: WrapUp): Promise<WrapUpView> {
    void callId;
    void extension;
    void patch;
    throw new WrapUpError(503, 'Wrap-up is not available yet.');
  }

  /**
   * Creates the unknown caller of the call in the CRM (owner from the mapping; one record per
   * number however many cards ask) and makes it the call's record. Returns the new match.
   */
  async createContact(callId: string, extension: string, input: { name?: string }): Promise<CrmMatch> {
    void callId;
    void extension;
    void input;
    throw new WrapUpError(503, 'Creating contacts is not available yet.');
  }
}
