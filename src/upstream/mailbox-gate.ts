import type { Protocol } from '../config/types.js';
import type { Metrics } from '../ops/metrics.js';

/** The gate's settings (upstream.maxSessionsPerMailbox, .sessionWaitMs, .maxWaitingPerMailbox). */
export interface GateLimits {
  /** Upstream sessions per mailbox and protocol; 0: no cap. */
  maxSessions: Readonly<Record<Protocol, number>>;
  /** How long a login may wait for a free session, or for Exchange's backoff to end. */
  waitMs: number;
  /** Logins that may wait per mailbox and protocol; past it they are refused at once. */
  maxWaiting: number;
}

export type RefusalReason = 'busy' | 'throttled' | 'cancelled';

/** A login the gate did not let through: no free session in time, backoff, client gone. */
export class GateRefusal extends Error {
  override readonly name = 'GateRefusal';
  constructor(readonly reason: RefusalReason, message: string) {
    super(message);
  }
}

/** Anything that reports its end once: a socket. */
export interface Closable {
  readonly closed: boolean;
  once(event: 'close', listener: () => void): unknown;
}

/** One upstream session's place. Releasing twice is harmless: only the first counts. */
export interface Slot {
  release(): void;
  /** Keeps the place until `connection` closes, however that happens. */
  holdUntilClosed(connection: Closable): void;
}

/**
 * What the login path asks for a place among a mailbox's upstream sessions. One process keeps
 * the counts itself (MailboxGate); a worker of several asks the primary's gate.
 */
export interface SessionGate {
  acquire(mailbox: string, protocol: Protocol, signal?: AbortSignal): Promise<Slot>;
  throttle(mailbox: string, protocol: Protocol, backoffMs: number): void;
  reconfigure(limits: GateLimits): void;
  /** Places held now for one protocol (a worker: those of its own sessions). */
  inUse(protocol: Protocol): number;
}

interface Waiter {
  deadline: number;
  admit(): void;
  refuse(reason: RefusalReason): void;
}

/** Sessions of one mailbox over one protocol. */
interface Lane {
  protocol: Protocol;
  inUse: number;
  queue: Waiter[];
  /** Epoch ms until which Exchange asked this mailbox to back off. */
  throttledUntil: number;
  wakeAfterBackoff?: NodeJS.Timeout;
}

/**
 * Keeps the proxy inside Exchange's per-mailbox limits before Exchange enforces them: at most
 * `maxSessions` upstream sessions per mailbox and protocol, a short FIFO wait for a free one,
 * and no new session while Exchange's suggested backoff runs. Lives across config reloads,
 * since the sessions it counts do.
 */
export class MailboxGate implements SessionGate {
  #limits: GateLimits;
  readonly #lanes = new Map<string, Lane>();
  readonly #metrics: Metrics | undefined;

  constructor(limits: GateLimits, metrics?: Metrics) {
    this.#limits = limits;
    this.#metrics = metrics;
  }

  /** New limits apply to sessions that come next; a higher cap lets waiting logins in now. */
  reconfigure(limits: GateLimits): void {
    this.#limits = limits;
    for (const [key, lane] of this.#lanes) this.#pump(key, lane);
  }

  /** Sessions holding a place now, for one protocol. */
  inUse(protocol: Protocol): number {
    let sum = 0;
    for (const lane of this.#lanes.values()) if (lane.protocol === protocol) sum += lane.inUse;
    return sum;
  }

  /** A place for a new upstream session, at once or after a bounded wait; else a GateRefusal. */
  acquire(mailbox: string, protocol: Protocol, signal?: AbortSignal): Promise<Slot> {
    const key = `${protocol} ${mailbox.toLowerCase()}`;
    const lane = this.#lane(key, protocol);
    const { waitMs, maxWaiting } = this.#limits;
    const backoffLeft = lane.throttledUntil - Date.now();
    if (signal?.aborted) return Promise.reject(this.#refusal(key, lane, 'cancelled'));
    if (backoffLeft > waitMs) return Promise.reject(this.#refusal(key, lane, 'throttled'));
    if (backoffLeft <= 0 && lane.queue.length === 0 && this.#hasRoom(lane)) return Promise.resolve(this.#take(key, lane));
    if (lane.queue.length >= maxWaiting) return Promise.reject(this.#refusal(key, lane, backoffLeft > 0 ? 'throttled' : 'busy'));
    this.#metrics?.upstreamWaits.add({ protocol });
    return new Promise<Slot>((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        lane.queue.splice(lane.queue.indexOf(waiter), 1);
      };
      const waiter: Waiter = {
        deadline: Date.now() + waitMs,
        admit: () => {
          leave();
          resolve(this.#take(key, lane));
        },
        refuse: (reason) => {
          leave();
          reject(this.#refusal(key, lane, reason));
        },
      };
      const timer = setTimeout(() => waiter.refuse(lane.throttledUntil > Date.now() ? 'throttled' : 'busy'), waitMs);
      const onAbort = () => waiter.refuse('cancelled');
      signal?.addEventListener('abort', onAbort, { once: true });
      lane.queue.push(waiter);
    });
  }

  /**
   * Exchange asked this mailbox to back off: no new session before then. Waiting logins whose
   * wait would end first are refused now rather than at their deadline.
   */
  throttle(mailbox: string, protocol: Protocol, backoffMs: number): void {
    const key = `${protocol} ${mailbox.toLowerCase()}`;
    const lane = this.#lane(key, protocol);
    const until = Date.now() + backoffMs;
    if (until <= lane.throttledUntil) return;
    lane.throttledUntil = until;
    clearTimeout(lane.wakeAfterBackoff);
    lane.wakeAfterBackoff = setTimeout(() => {
      // The latest backoff is over (a longer one would have replaced this timer). Said so
      // outright: the timer's clock and Date.now() may disagree by a millisecond.
      lane.wakeAfterBackoff = undefined;
      lane.throttledUntil = 0;
      this.#pump(key, lane);
    }, backoffMs);
    lane.wakeAfterBackoff.unref();
    for (const waiter of lane.queue.filter((w) => w.deadline < until)) waiter.refuse('throttled');
  }

  #lane(key: string, protocol: Protocol): Lane {
    let lane = this.#lanes.get(key);
    if (!lane) this.#lanes.set(key, (lane = { protocol, inUse: 0, queue: [], throttledUntil: 0 }));
    return lane;
  }

  #hasRoom(lane: Lane): boolean {
    const cap = this.#limits.maxSessions[lane.protocol];
    return cap === 0 || lane.inUse < cap;
  }

  #take(key: string, lane: Lane): Slot {
    lane.inUse++;
    this.#metrics?.upstreamSessions.add({ protocol: lane.protocol });
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      lane.inUse--;
      this.#metrics?.upstreamSessions.add({ protocol: lane.protocol }, -1);
      this.#pump(key, lane);
    };
    return {
      release,
      holdUntilClosed(connection) {
        if (connection.closed) release();
        else connection.once('close', release);
      },
    };
  }

  /** Lets waiting logins in while there is room and no backoff; forgets idle lanes. */
  #pump(key: string, lane: Lane): void {
    if (lane.throttledUntil > Date.now()) return;
    while (lane.queue.length > 0 && this.#hasRoom(lane)) lane.queue[0]!.admit();
    if (lane.inUse === 0 && lane.queue.length === 0 && !lane.wakeAfterBackoff) this.#lanes.delete(key);
  }

  #refusal(key: string, lane: Lane, reason: RefusalReason): GateRefusal {
    const { protocol, inUse, queue } = lane;
    if (reason !== 'cancelled') this.#metrics?.upstreamRefusals.add({ protocol, reason });
    // A lane made just for this refusal holds nothing worth keeping.
    if (inUse === 0 && queue.length === 0 && !lane.wakeAfterBackoff) this.#lanes.delete(key);
    return new GateRefusal(reason, this.#explain(lane, reason));
  }

  /** For the log: what stopped the login, naming the settings involved. */
  #explain(lane: Lane, reason: RefusalReason): string {
    const { maxSessions, waitMs, maxWaiting } = this.#limits;
    const cap = `upstream.maxSessionsPerMailbox.${lane.protocol}: ${maxSessions[lane.protocol]}`;
    if (reason === 'cancelled') return 'the client left while waiting for a free upstream session';
    if (reason === 'throttled') {
      return `Exchange asked to back off from this mailbox until ${new Date(lane.throttledUntil).toISOString()}, beyond the ${waitMs} ms a login may wait (upstream.sessionWaitMs)`;
    }
    if (lane.queue.length >= maxWaiting) return `${lane.queue.length} logins already wait for a ${lane.protocol} session of this mailbox (${cap}, upstream.maxWaitingPerMailbox: ${maxWaiting})`;
    return `no ${lane.protocol} session of this mailbox came free within ${waitMs} ms (${cap}, upstream.sessionWaitMs)`;
  }
}
