/** Keeps memory bounded when many clients or usernames fail. */
const MAX_TRACKED = 10_000;

/**
 * Locks out password guessing: after `maxFailures` failed logins for one username from one
 * client address within `windowMs`, that pair is refused without a password check until the
 * window ends. Keyed by address and username together, so one misconfigured job on
 * 127.0.0.1 does not lock out the other jobs on the same machine. 0 failures turns it off.
 */
export class FailedLoginLimiter {
  readonly #windows = new Map<string, { failures: number; endsAt: number }>();

  constructor(
    readonly maxFailures: number,
    readonly windowMs: number,
  ) {}

  /** When the lockout of this pair ends, if it is locked out now. */
  lockedUntil(clientAddress: string, username: string, now = Date.now()): number | undefined {
    const window = this.#current(clientAddress, username, now);
    return this.maxFailures > 0 && window && window.failures >= this.maxFailures ? window.endsAt : undefined;
  }

  failed(clientAddress: string, username: string, now = Date.now()): void {
    if (this.maxFailures === 0) return;
    const key = FailedLoginLimiter.#key(clientAddress, username);
    const window = this.#current(clientAddress, username, now) ?? { failures: 0, endsAt: now + this.windowMs };
    window.failures++;
    this.#windows.delete(key);
    if (this.#windows.size >= MAX_TRACKED) this.#windows.delete(this.#windows.keys().next().value!);
    this.#windows.set(key, window);
  }

  succeeded(clientAddress: string, username: string): void {
    this.#windows.delete(FailedLoginLimiter.#key(clientAddress, username));
  }

  #current(clientAddress: string, username: string, now: number): { failures: number; endsAt: number } | undefined {
    const key = FailedLoginLimiter.#key(clientAddress, username);
    const window = this.#windows.get(key);
    if (window && window.endsAt <= now) {
      this.#windows.delete(key);
      return undefined;
    }
    return window;
  }

  static #key(clientAddress: string, username: string): string {
    return `${clientAddress}\0${username.toLowerCase()}`;
  }
}
