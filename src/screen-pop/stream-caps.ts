/**
 * Bounds the agent streams one instance holds open: per link, per source address and in all.
 * Each stream holds a socket (a file descriptor) and ~18 KiB; unbounded, one leaked or hostile
 * link could open tens of thousands and leave none for VoipNow's events.
 */
export class StreamCaps {
  private total = 0;
  private readonly byLink = new Map<string, number>();
  private readonly byAddress = new Map<string, number>();

  constructor(private readonly limits: { perLink: number; perAddress: number; total: number }) {}

  /** Takes a slot and returns its release (safe to call twice), or the reason it was refused. */
  take(link: string, address: string): { release: () => void } | { refused: string } {
    if (this.total >= this.limits.total) {
      return { refused: `This server already holds ${this.limits.total} agent streams (AGENT_STREAMS_MAX); try again later.` };
    }
    if ((this.byAddress.get(address) ?? 0) >= this.limits.perAddress) {
      return { refused: `Too many agent streams from this address (AGENT_STREAMS_PER_ADDRESS=${this.limits.perAddress}); close some agent pages.` };
    }
    if ((this.byLink.get(link) ?? 0) >= this.limits.perLink) {
      return { refused: `This agent link already has ${this.limits.perLink} open streams (AGENT_STREAMS_PER_LINK); close its other tabs.` };
    }
    this.total++;
    bump(this.byLink, link, 1);
    bump(this.byAddress, address, 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        bump(this.byLink, link, -1);
        bump(this.byAddress, address, -1);
      },
    };
  }
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
}
