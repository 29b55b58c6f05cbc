/** Gives a taken descriptor back (idempotent). */
export type GiveBack = () => void;

/** Thrown to a waiter whose signal was aborted (the client left). */
export class ReserveWaitAborted extends Error {
  override readonly name = 'ReserveWaitAborted';
  constructor() {
    super('the client left while waiting for a free login slot');
  }
}

/**
 * The open-files budget counts two descriptors per admitted connection (the client's and
 * Exchange's); this reserve holds the few beyond that a session may need for a while: a
 * login in progress (it may hold the upstream connection it replaces after a refused token
 * while that one closes), an upstream connection that outlives its client for the close
 * grace. `size` is set once the budget is known (ops/open-files.ts); until then it is
 * unbounded. Waiters are served in order.
 */
export class DescriptorReserve {
  #size: number;
  #taken = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(size = Infinity) {
    this.#size = size;
  }

  get size(): number {
    return this.#size;
  }

  /** A new size applies at once: waiters get in while there is room; none is taken back. */
  set size(size: number) {
    this.#size = size;
    this.#wake();
  }

  get taken(): number {
    return this.#taken;
  }

  /** One descriptor now, or undefined when the reserve is used up (or someone waits for it). */
  tryTake(): GiveBack | undefined {
    if (this.#taken >= this.#size || this.#waiting.length > 0) return undefined;
    return this.#hand();
  }

  /** One descriptor when one is free; rejects with ReserveWaitAborted when `signal` aborts first. */
  take(signal?: AbortSignal): Promise<GiveBack> {
    const now = this.tryTake();
    if (now) return Promise.resolve(now);
    if (signal?.aborted) return Promise.reject(new ReserveWaitAborted());
    return new Promise((resolve, reject) => {
      const admit = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.#hand());
      };
      const onAbort = () => {
        const index = this.#waiting.indexOf(admit);
        if (index >= 0) this.#waiting.splice(index, 1);
        reject(new ReserveWaitAborted());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(admit);
    });
  }

  #hand(): GiveBack {
    this.#taken++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.#taken--;
      this.#wake();
    };
  }

  #wake(): void {
    while (this.#waiting.length > 0 && this.#taken < this.#size) this.#waiting.shift()!();
  }
}
