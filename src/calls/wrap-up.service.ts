import { Inject, Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { Logger } from 'pino';
import { LOGGER } from '../config/config.tokens';
import { CrmError, CrmMatch } from '../crm/crm-provider';
import { CrmRegistry } from '../crm/crm-registry.service';
import { LookupService } from '../crm/lookup.service';
import { withNumberLock } from '../crm/number-lock';
import { phoneQuery } from '../crm/phone';
import { isInternalCall } from '../mappings/decide';
import { MappingService } from '../mappings/mapping.service';
import { ResolvedMapping } from '../mappings/resolve-mapping';
import { EventQueueService } from '../queue/event-queue.service';
import { RedisClient } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { SHARED_REDIS } from '../redis/redis.tokens';
import { activityKey } from './activity-keys';
import { isLive } from './call-group';
import { CallRecord } from './call-record';
import { CallStateService, StoredWrapUp, wrapUpView } from './call-state.service';
import { CallUpdate, CallUpdatePublisher } from './call-update.publisher';
import { CardService } from './card.service';
import { MAX_NOTES, WrapUp, WrapUpView } from './wrap-up';

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

/** How long a card's contact creation holds its number: longer than a create takes, short enough to recover from a crash. */
const CREATE_LOCK_MS = 15_000;

/**
 * The card's writes: the agent's wrap-up and contacts created from the card. A wrap-up is one per
 * customer call and connection, saved in Redis and published to the cards of every extension the
 * call rang there; the call-log worker writes it to the CRM activity once: with the log when it is
 * saved before the log is written, else as an update of the logged activity (queued here).
 */
@Injectable()
export class WrapUpService {
  constructor(
    private readonly calls: CallStateService,
    private readonly mappings: MappingService,
    private readonly crm: CrmRegistry,
    private readonly lookups: LookupService,
    private readonly updates: CallUpdatePublisher,
    private readonly queues: EventQueueService,
    private readonly cards: CardService,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly keys: RedisKeys,
    // The call-log worker's markers and the creation lock live on the shared connection.
    @Inject(SHARED_REDIS) private readonly redis: RedisClient,
  ) {}

  /**
   * Saves (merges) the wrap-up of the call `extension` saw. Throws WrapUpError: 404 no such call
   * on this extension, 400 a disposition or record the call does not offer, 409 nothing to wrap up
   * (the call is not logged on this extension's connection).
   */
  async save(callId: string, extension: string, patch: WrapUp): Promise<WrapUpView> {
    const { record, mapping, connection } = await this.call(callId, extension);
    if (patch.notes !== undefined && patch.notes.length > MAX_NOTES) throw new WrapUpError(400, `Notes are limited to ${MAX_NOTES} characters.`);
    if (patch.disposition && !this.crm.dispositions(connection).some((d) => d.key === patch.disposition)) {
      throw new WrapUpError(400, `"${patch.disposition}" is not one of ${this.crm.displayName(connection)}'s dispositions.`);
    }
    const previous = await this.calls.wrapUp(callId, connection);
    if (patch.recordId && patch.recordId !== previous?.created?.id) {
      const matches = await this.matches(record, mapping, connection);
      if (!matches.some((m) => m.id === patch.recordId)) throw new WrapUpError(400, 'That record is not one of the records found for this caller. Reload the card and choose again.');
    }
    const wrapUp: StoredWrapUp = {
      ...previous,
      ...definedOnly(patch),
      notes: patch.notes !== undefined ? patch.notes.trim() || undefined : previous?.notes,
      disposition: patch.disposition !== undefined ? patch.disposition || undefined : previous?.disposition,
      by: extension,
      // Strictly increasing, so every save is a distinct update (and update job).
      savedAt: Math.max(Date.now(), (previous?.savedAt ?? 0) + 1),
      state: 'saved',
      reason: undefined,
    };
    await this.calls.saveWrapUp(callId, connection, wrapUp);
    const key = activityKey(callId, extension, mapping);
    const logged = await this.redis.exists(this.keys.loggedMarker(connection, key));
    if (logged) await this.queues.addWrapUpUpdate(callId, extension, key, wrapUp.savedAt);
    else if (wrapUp.done && !isLive(record)) await this.logNow(connection, key);
    const view = wrapUpView(wrapUp);
    await this.publish(callId, extension, connection, { wrapUp: view });
    this.log.info(
      { event: 'call.wrap_up_saved', callId, extension, connection, logged: !!logged, done: !!wrapUp.done, disposition: wrapUp.disposition, notes: wrapUp.notes?.length ?? 0 },
      'wrap-up saved',
    );
    return view;
  }

  /**
   * Creates the unknown caller of the call in the CRM (owner from the mapping; one record per
   * number however many cards ask) and makes it the call's record. Returns the new match.
   */
  async createContact(callId: string, extension: string, input: { name?: string }): Promise<CrmMatch> {
    const { record, mapping, connection } = await this.call(callId, extension);
    const provider = this.crm.get(connection);
    if (!provider.createContact) throw new WrapUpError(409, `${this.crm.displayName(connection)} cannot create contacts from the card.`);
    const createContact = provider.createContact.bind(provider);
    const query = phoneQuery(record.remoteNumber, mapping.country);
    if (!query) throw new WrapUpError(400, 'This call has no caller number to create a contact for.');
    const name = (input.name?.trim() || (record.direction === 'inbound' ? record.caller.name : undefined))?.slice(0, 80);
    // One creation per number at a time across pages and instances; a page that waited finds the
    // record the first one created.
    const lock = this.keys.contactCreateLock(connection, query);
    let created: CrmMatch;
    try {
      created = await withNumberLock(this.redis, lock, CREATE_LOCK_MS, 'Another card is still creating this contact. Try again in a moment.', async () => {
        await this.lookups.invalidate(connection, query).catch(() => undefined);
        const existing = (await this.lookups.lookup(connection, query)).matches.at(0);
        if (existing) return existing;
        const ownerId = await this.mappings.ownerId(mapping);
        const match = await createContact({ key: `${activityKey(callId, extension, mapping)}-card`, number: query.e164 ?? query.raw, name, ownerId });
        await this.lookups.invalidate(connection, query).catch(() => undefined);
        this.log.info({ event: 'crm.contact_created', callId, extension, connection, contactId: match.id, from: 'card' }, 'contact created from the card');
        return match;
      });
    } catch (err) {
      if (err instanceof CrmError && err.opts.code === 'NUMBER_LOCKED') throw new WrapUpError(503, err.message);
      if (err instanceof CrmError) throw new WrapUpError(err.kind === 'permanent' ? 400 : 502, `${this.crm.displayName(connection)} did not create the contact: ${err.message}`);
      throw err;
    }
    const previous = await this.calls.wrapUp(callId, connection);
    const wrapUp: StoredWrapUp = { ...previous, recordId: created.id, created, by: extension, savedAt: Math.max(Date.now(), (previous?.savedAt ?? 0) + 1), state: 'saved' };
    await this.calls.saveWrapUp(callId, connection, wrapUp);
    const key = activityKey(callId, extension, mapping);
    if (await this.redis.exists(this.keys.loggedMarker(connection, key))) await this.queues.addWrapUpUpdate(callId, extension, key, wrapUp.savedAt);
    await this.publish(callId, extension, connection, {
      wrapUp: wrapUpView(wrapUp),
      lookup: { status: 'done', connection, matches: [created] },
    });
    return created;
  }

  /** The call as `extension` saw it, with the connection it is logged on, or the WrapUpError to answer. */
  private async call(callId: string, extension: string): Promise<{ record: CallRecord; mapping: ResolvedMapping; connection: string }> {
    const record = await this.calls.get(callId, extension);
    if (!record) throw new WrapUpError(404, 'No such call on this extension (it may have expired).');
    const mapping = this.mappings.resolve(extension);
    const offers = this.cards.offers(mapping, record, { internal: mapping.actions.skipInternal && isInternalCall(record) });
    if (!offers?.wrapUp || !mapping.connection) throw new WrapUpError(409, 'Calls on this extension are not logged in a CRM, so there is nothing to wrap up.');
    return { record, mapping, connection: mapping.connection };
  }

  private async matches(record: CallRecord, mapping: ResolvedMapping, connection: string): Promise<CrmMatch[]> {
    const query = phoneQuery(record.remoteNumber, mapping.country);
    if (!query) return [];
    try {
      return (await this.lookups.lookup(connection, query)).matches;
    } catch (err) {
      throw new WrapUpError(502, `${this.crm.displayName(connection)} could not be searched to check the record: ${(err as Error).message}`);
    }
  }

  /** The agent finished: the log job held for the wrap-up window runs now. */
  private async logNow(connection: string, key: string): Promise<void> {
    const holder = await this.redis.get(this.keys.logClaim(connection, key));
    const job = holder ? await Job.fromId(this.queues.callLog, holder) : undefined;
    if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
  }

  /** The update on the card of every extension the call rang on this connection (every tab of theirs). */
  private async publish(callId: string, extension: string, connection: string, what: Pick<CallUpdate, 'wrapUp' | 'lookup'>): Promise<void> {
    const legs = await this.calls.legs(callId, extension);
    await Promise.all(
      legs
        .filter((r) => r.extension === extension || this.mappings.resolve(r.extension).connection === connection)
        .map((record) =>
          this.updates.publish({ event: 'hangup', record, publishedAt: Date.now(), ...what, labels: this.cards.labels(this.mappings.resolve(record.extension)) }).catch(() => undefined),
        ),
    );
  }
}

function definedOnly(patch: WrapUp): WrapUp {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
}
