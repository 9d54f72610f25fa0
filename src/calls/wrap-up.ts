/**
 * The agent's wrap-up of a call: what the card lets the agent add to the CRM activity. One per
 * customer call and CRM connection (a ring group's members share it); it lands on the call's
 * activity once, with the log when saved within `calls.wrapUpWindowSeconds` of Hangup, else as an
 * update of the logged activity.
 */
export interface WrapUp {
  /** Free text, at most MAX_NOTES characters. */
  notes?: string;
  /** A key of the connection's dispositions ('' in a save clears it). */
  disposition?: string;
  /** The CRM record the call belongs to (one of the lookup's matches, or a contact created from the card). */
  recordId?: string;
  /** The agent is finished: the call is logged now instead of at the end of the wrap-up window. */
  done?: boolean;
}

export const MAX_NOTES = 4000;

/** The wrap-up as pages see it, with where it stands. */
export interface WrapUpView extends WrapUp {
  /** Extension whose page saved it last. */
  by: string;
  savedAt: number;
  /** saved: waiting for the log; logged: written with the log; updated: written as an update after it; failed: see `reason`. */
  state: 'saved' | 'logged' | 'updated' | 'failed';
  reason?: string;
}

/** What the card may offer on a call (its connection's capabilities and settings). */
export interface CardOffers {
  /** Notes, disposition and record choice can be saved for this call. */
  wrapUp: boolean;
  dispositions: { key: string; label: string }[];
  /** The card can create the unknown caller in the CRM. */
  createContact: boolean;
  /** When the log is written if the agent does not finish first (ms since the epoch); set after Hangup. */
  logsAt?: number;
}
