/** Thrown when no more password checks may wait: the client gets the protocol's "try later". */
export class PasswordChecksBusyError extends Error {
  override readonly name = 'PasswordChecksBusyError';
  constructor() {
    super('too many password checks waiting');
  }
}

interface Job {
  run: () => void;
}

/**
 * Bounds the scrypt work that clients can cause before they have proven anything. A check
 * costs ~100 ms of a libuv thread and 32 MiB; without a bound, 200 guessing connections make
 * a legitimate first login wait tens of seconds and starve the thread pool that DNS lookups
 * share. At most `concurrency` checks run; the others wait, served round-robin by client
 * address so that one address cannot keep the others waiting; past `maxQueued` in total or
 * `maxQueuedPerAddress` for one address, a check is refused at once.
 */
export class PasswordCheckQueue {
  #running = 0;
  #queued = 0;
  /** Waiting jobs by client address, in the order addresses take turns. */
  readonly #waiting = new Map<string, Job[]>();

  constructor(
    readonly concurrency: number,
    readonly maxQueued: number,
    readonly maxQueuedPerAddress: number,
  ) {}

  get queued(): number {
    return this.#queued;
  }

  /** Runs `check` when its turn comes; rejects with PasswordChecksBusyError when the queue is full. */
  run<T>(clientAddress: string, check: () => Promise<T>): Promise<T> {
    if (this.#running < this.concurrency) return this.#start(check);
    const waiting = this.#waiting.get(clientAddress) ?? [];
    if (this.#queued >= this.maxQueued || waiting.length >= this.maxQueuedPerAddress) return Promise.reject(new PasswordChecksBusyError());
    return new Promise<T>((resolve, reject) => {
      waiting.push({ run: () => this.#start(check).then(resolve, reject) });
      this.#waiting.set(clientAddress, waiting);
      this.#queued++;
    });
  }

  #start<T>(check: () => Promise<T>): Promise<T> {
    this.#running++;
    return check().finally(() => {
      this.#running--;
      this.#next();
    });
  }

  #next(): void {
    const turn = this.#waiting.entries().next();
    if (turn.done) return;
    const [address, jobs] = turn.value;
    const job = jobs.shift()!;
    this.#queued--;
    // The address goes to the back of the line, behind every other address waiting.
    this.#waiting.delete(address);
    if (jobs.length > 0) this.#waiting.set(address, jobs);
    job.run();
  }
}
