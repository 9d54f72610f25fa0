import { escapeIdPart } from '../ingest/call-event';

/**
 * Every Redis key and pub/sub channel name the connector uses, built from REDIS_PREFIX (provided
 * by RedisModule: inject `RedisKeys`). Every name starts with the prefix, so on a Redis Cluster its
 * hash tag keeps them all in one slot (scripts and MULTIs may touch several). The strings are
 * stored data's addresses: changing one orphans what an older version wrote (redis-keys.spec.ts
 * pins them).
 *
 * BullMQ keeps its own keys under `<prefix>:<queue>:...` (the prefix is its `prefix` option); the
 * connector reads them only through BullMQ's API.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  // --- Call state (CallStateService; TTL calls.recordTtlHours) ---

  /**
   * Hash: one (CallID, extension)'s call state: its events (field = event type, value as
   * src/calls/stored-event.ts encodes it; kept by the screen-pop worker, or by a call-log job from
   * pending pop jobs) and what the workers did with it (`pop`, `log`: JSON).
   */
  call(callId: string, extension: string): string {
    return `${this.prefix}:call:${escapeIdPart(callId)}:${escapeIdPart(extension)}`;
  }

  /** Set: the extensions a CallID rang (ring group, queue, transfer), added as their pops run. */
  legs(callId: string): string {
    return `${this.prefix}:legs:${escapeIdPart(callId)}`;
  }

  /** String: the extension that answered the CallID first (SET NX by its Answer's pop). */
  answered(callId: string): string {
    return `${this.prefix}:answered:${escapeIdPart(callId)}`;
  }

  /** String (JSON): the agent's wrap-up of a customer call on one connection, written by the card (WrapUpService). */
  wrapUp(callId: string, connection: string): string {
    return `${this.prefix}:wrap-up:${escapeIdPart(callId)}:${connection}`;
  }

  /** Sorted set: `[callId, extension]` of the last calls by start time (kept to RECENT_CALLS_KEPT, no TTL), for ops. */
  recentCalls(): string {
    return `${this.prefix}:recent-calls`;
  }

  // --- Call logging (call-log worker, WrapUpService) ---

  /** String (JSON `{id, url, endedAt}`): set once the CRM activity of `activityKey` exists on the connection; 30 days, by the call-log worker. */
  loggedMarker(connection: string, activityKey: string): string {
    return `${this.prefix}:logged:${connection}:${activityKey}`;
  }

  /** String: the follow-up task created for a logged activity (its id), so it is created once; as long as the logged marker. */
  loggedFollowUp(connection: string, activityKey: string): string {
    return `${this.loggedMarker(connection, activityKey)}:follow-up`;
  }

  /** String: the call-log job id that writes a customer call (the first of its legs' jobs to find it over); by the call-log worker. */
  logClaim(connection: string, activityKey: string): string {
    return `${this.prefix}:log-claim:${connection}:${activityKey}`;
  }

  // --- CRM (LookupService, ConnectionPauseService, RequestBudget, MappingService, providers) ---

  /** String (JSON matches): a number's lookup result on a connection; the connection's `cache` hit/miss TTL, by LookupService. */
  lookup(connection: string, number: PhoneKey): string {
    return `${this.prefix}:lookup:${connection}:${number.e164 ?? number.digits}`;
  }

  /** String: lock while the card creates a contact for a number (withNumberLock, 15 s at most), by WrapUpService. */
  contactCreateLock(connection: string, number: PhoneKey): string {
    return `${this.prefix}:contact-create:${connection}:${number.e164 ?? number.digits}`;
  }

  /**
   * Prefix of a connection's request-budget counters (RequestBudget, through rate-limiter-flexible,
   * which adds `:<point key>`): `<this>:window:w` the current one-second slot (1 s), `<this>:day:d`
   * today's requests (24 h).
   */
  budget(connection: string): string {
    return `${this.prefix}:budget:${connection}`;
  }

  /** String (JSON `{until, reason}`): the connection's call logging is paused (quota spent, or ops); expires with the pause. */
  paused(connection: string): string {
    return `${this.prefix}:paused:${connection}`;
  }

  /** Set: call-log job ids a pause holds, so a resume releases them at once; the pause plus an hour. */
  pausedJobs(connection: string): string {
    return `${this.prefix}:paused-jobs:${connection}`;
  }

  /** String: the CRM user id of an owner e-mail on a connection, cached by MappingService. */
  owner(connection: string, email: string): string {
    return `${this.prefix}:owner:${connection}:${email}`;
  }

  /** The keys a CRM provider keeps for its connection (ProviderDeps.keyPrefix is `crm(name).prefix`). */
  crm(connection: string): CrmConnectionKeys {
    return new CrmConnectionKeys(`${this.prefix}:crm:${connection}`);
  }

  // --- Screen pop (CallUpdatePublisher, UpdateHub, AgentLinks) ---

  /** Pub/sub channel: an extension's call updates (JSON CallUpdate), published by CallUpdatePublisher, subscribed by UpdateHub. */
  updates(extension: string): string {
    return `${this.prefix}:updates:${extension}`;
  }

  /** What every `updates` channel starts with (the extension follows). */
  updatesChannelPrefix(): string {
    return this.updates('');
  }

  /** Stream: an extension's updates (entry field `u`), trimmed to the replay window, for pages that reconnect; by CallUpdatePublisher. */
  updatesLog(extension: string): string {
    return `${this.prefix}:updates-log:${extension}`;
  }

  /** String: an update already published (`hash` of its identity), so a job run twice does not publish it twice; 2 min. */
  updatesOnce(hash: string): string {
    return `${this.prefix}:updates-once:${hash}`;
  }

  /** Hash: agent links ops issued with an id → JSON IssuedLink (no TTL; expired ones are dropped as it is read), by AgentLinks. */
  agentLinks(): string {
    return `${this.prefix}:agent-links`;
  }

  /** Sorted set: revoked agent link ids scored by the link's expiry (pruned once expired), by AgentLinks. */
  revokedAgentLinks(): string {
    return `${this.prefix}:agent-links:revoked`;
  }

  // --- Embedded panels (PanelBindings) ---

  /** Hash: one panel binding (extensions, label, code and panel-key hashes, times); no TTL, deleted on revoke. */
  panelBinding(id: string): string {
    return `${this.prefix}:embed:binding:${id}`;
  }

  /** Set: the ids of every panel binding. */
  panelBindings(): string {
    return `${this.prefix}:embed:bindings`;
  }
}

/** The number part of a lookup or lock key: E.164 when the number parsed, else its digits (a PhoneQuery fits). */
export interface PhoneKey {
  e164?: string;
  digits: string;
}

/**
 * One CRM connection's own keys, under `<REDIS_PREFIX>:crm:<connection>`: providers get that
 * prefix (ProviderDeps.keyPrefix) and name their keys with `new CrmConnectionKeys(keyPrefix)`.
 */
export class CrmConnectionKeys {
  constructor(readonly prefix: string) {}

  /** String (JSON `{accessToken, instanceUrl}`): the Salesforce session shared by instances; 1 h. */
  session(): string {
    return `${this.prefix}:session`;
  }

  /** String: lock while one instance runs a Salesforce OAuth grant (15 s at most). */
  grantLock(): string {
    return `${this.prefix}:grant-lock`;
  }

  /** String (JSON `{token, seed}`): the rotated Salesforce refresh token, no TTL. */
  refreshToken(): string {
    return `${this.prefix}:refresh-token`;
  }

  /** String: HubSpot's OAuth access token shared by instances; until 2 min before it expires. */
  accessToken(): string {
    return `${this.prefix}:access-token`;
  }

  /** String: lock while a worker creates a Salesforce Lead for a number (digits only, else as given). */
  newLead(number: string): string {
    return `${this.prefix}:new-lead:${number.replace(/\D/g, '') || number}`;
  }
}
