/** Pairs still counting towards a lockout; the oldest are forgotten first past this. */
const MAX_COUNTING = 10_000;
/** Locked pairs are kept until their window ends, up to this many (~10 MB at worst). */
const MAX_LOCKED = 100_000;

interface Window {
  failures: number;
  endsAt: number;
  /** Password checks running now, by credential fingerprint: each counts as an attempt already. */
  inFlight: Set<string>;
}

/** One password check in progress; say how it ended, exactly once. */
export interface LoginTicket {
  /** The password was wrong (or the user unknown): returns the failures of this pair so far. */
  failed(now?: number): number | Promise<number>;
  succeeded(): void;
  /** No verdict on the password (the check could not run, or the failure is not a guess). */
  abandoned(): void;
}

export type LoginAdmission = { locked: true; until: number; failures: number } | { locked: false; ticket: LoginTicket };

/**
 * What the login path asks before a password check. One process keeps the counts itself
 * (FailedLoginLimiter); a worker of several asks the primary, so every worker sees the same
 * counts (listen/cluster/remote-limits.ts).
 */
export interface LoginLimiter {
  readonly maxFailures: number;
  begin(clientAddress: string, username: string, fingerprint: string): LoginAdmission | Promise<LoginAdmission>;
}

/**
 * Locks out password guessing: after `maxFailures` failed logins for one username from one
 * client address within `windowMs`, that pair is refused without a password check until the
 * window ends. Keyed by address and username together, so one misconfigured job on
 * 127.0.0.1 does not lock out the other jobs on the same machine. 0 failures turns it off.
 *
 * An attempt counts from the moment its check starts, so parallel guesses cannot all be
 * checked before the first failure is known; the same credentials checked in parallel (a
 * burst of one job's logins) count once. Locked pairs live apart from the ones still
 * counting, so no amount of cheap new pairs pushes a lockout out of the table.
 */
export class FailedLoginLimiter implements LoginLimiter {
  readonly #counting = new Map<string, Window>();
  readonly #locked = new Map<string, Window>();

  constructor(
    readonly maxFailures: number,
    readonly windowMs: number,
  ) {}

  /**
   * Starts a login attempt with credentials identified by `fingerprint` (never the password
   * itself): either it is locked out, or it gets a ticket and counts as an attempt until settled.
   */
  begin(clientAddress: string, username: string, fingerprint: string, now = Date.now()): LoginAdmission {
    const key = FailedLoginLimiter.#key(clientAddress, username);
    if (this.maxFailures === 0) return { locked: false, ticket: NO_TICKET };
    const locked = this.#current(this.#locked, key, now);
    if (locked && locked.failures >= this.maxFailures) return { locked: true, until: locked.endsAt, failures: locked.failures };
    if (locked) {
      // Its window ended while a check was still running: it counts afresh.
      this.#locked.delete(key);
      this.#counting.set(key, locked);
    }
    let window = this.#current(this.#counting, key, now);
    if (window && !window.inFlight.has(fingerprint) && window.failures + window.inFlight.size >= this.maxFailures) {
      // Enough attempts are under way to reach the limit: this one waits for no verdict.
      return { locked: true, until: window.endsAt, failures: window.failures };
    }
    if (!window) {
      window = { failures: 0, endsAt: now + this.windowMs, inFlight: new Set() };
      this.#makeRoom();
      this.#counting.set(key, window);
    }
    window.inFlight.add(fingerprint);
    return { locked: false, ticket: this.#ticket(key, window, fingerprint) };
  }

  /** Pairs tracked now (for tests and metrics). */
  get size(): number {
    return this.#counting.size + this.#locked.size;
  }

  #ticket(key: string, window: Window, fingerprint: string): LoginTicket {
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      window.inFlight.delete(fingerprint);
      return true;
    };
    return {
      failed: (now = Date.now()): number => {
        if (!settle()) return window.failures;
        window.failures++;
        if (window.failures >= this.maxFailures && window.endsAt > now && this.#counting.get(key) === window) {
          this.#counting.delete(key);
          if (this.#locked.size >= MAX_LOCKED) this.#locked.delete(this.#locked.keys().next().value!);
          this.#locked.set(key, window);
        }
        return window.failures;
      },
      succeeded: () => {
        if (settle() && this.#counting.get(key) === window) this.#counting.delete(key);
      },
      abandoned: () => {
        if (settle() && window.failures === 0 && window.inFlight.size === 0 && this.#counting.get(key) === window) this.#counting.delete(key);
      },
    };
  }

  /** Forgets the oldest pair that has no check running (a running one keeps its entry). */
  #makeRoom(): void {
    if (this.#counting.size < MAX_COUNTING) return;
    for (const [key, window] of this.#counting) {
      if (window.inFlight.size > 0) continue;
      this.#counting.delete(key);
      return;
    }
  }

  /** The pair's window if it has not ended; one that ended while checks run starts afresh. */
  #current(table: Map<string, Window>, key: string, now: number): Window | undefined {
    const window = table.get(key);
    if (!window || window.endsAt > now) return window;
    if (window.inFlight.size === 0) {
      table.delete(key);
      return undefined;
    }
    window.failures = 0;
    window.endsAt = now + this.windowMs;
    return window;
  }

  static #key(clientAddress: string, username: string): string {
    return `${clientAddress}\0${username.toLowerCase()}`;
  }
}

const NO_TICKET: LoginTicket = { failed: () => 0, succeeded: () => {}, abandoned: () => {} };
