/**
 * Graph allows 4 concurrent requests per mailbox (Outlook's throttling limits); a fifth gets
 * 429 MailboxConcurrency. Requests beyond the limit wait here, first come first served.
 */
export class MailboxLanes {
  readonly #limit: number;
  readonly #lanes = new Map<string, { inFlight: number; waiting: (() => void)[] }>();

  constructor(limit = 4) {
    this.#limit = limit;
  }

  /** Runs `work` when the mailbox has a free place; the place is given back when it settles. */
  async run<T>(mailbox: string, work: () => Promise<T>): Promise<T> {
    const key = mailbox.toLowerCase();
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = { inFlight: 0, waiting: [] };
      this.#lanes.set(key, lane);
    }
    if (lane.inFlight >= this.#limit) await new Promise<void>((resolve) => lane.waiting.push(resolve));
    else lane.inFlight++;
    try {
      return await work();
    } finally {
      // The place passes straight to the next in line, so inFlight never drops below it.
      const next = lane.waiting.shift();
      if (next) next();
      else if (--lane.inFlight === 0) this.#lanes.delete(key);
    }
  }

  /** Requests in flight for a mailbox now (for tests and metrics). */
  inFlight(mailbox: string): number {
    return this.#lanes.get(mailbox.toLowerCase())?.inFlight ?? 0;
  }
}
