import type { Logger } from 'pino';
import type { Metrics } from '../ops/metrics.js';
import type { RefusalReason } from './admission.js';

/** At most one log line per reason in this interval; the counts in between are summed. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

/** What one refused connection tells the log line (the last one's details are shown). */
export interface Refusal {
  reason: RefusalReason;
  protocol: string;
  /** The client's address and port, as far as known. */
  client: string;
  /** The client got the protocol's "try later" line; false when cut at once (too many refusals in progress). */
  greeted: boolean;
  /** The limit that applied, or the PROXY header problem. */
  detail: string;
}

interface Pending {
  refused: number;
  withoutGreeting: number;
  last: Refusal;
  timer?: NodeJS.Timeout;
}

/**
 * Counts every refused connection (o365p_connections_refused_total) and logs them without
 * letting a flood flood the log: the first refusal of a reason is logged at once, later ones
 * are summed into one line per REFUSAL_LOG_INTERVAL_MS saying how many there were.
 */
export class RefusalLog {
  readonly #pending = new Map<RefusalReason, Pending>();
  readonly #lastLine = new Map<RefusalReason, number>();

  constructor(private readonly log: Logger, private readonly metrics: Metrics, private readonly intervalMs = REFUSAL_LOG_INTERVAL_MS) {}

  refused(refusal: Refusal): void {
    this.metrics.connectionsRefused.add({ protocol: refusal.protocol, reason: refusal.reason });
    const pending = this.#pending.get(refusal.reason) ?? { refused: 0, withoutGreeting: 0, last: refusal };
    pending.refused++;
    if (!refusal.greeted) pending.withoutGreeting++;
    pending.last = refusal;
    this.#pending.set(refusal.reason, pending);
    const wait = (this.#lastLine.get(refusal.reason) ?? -Infinity) + this.intervalMs - Date.now();
    if (wait <= 0) this.#write(refusal.reason);
    else pending.timer ??= setTimeout(() => this.#write(refusal.reason), wait).unref();
  }

  /** Writes what is still summed up (on shutdown). */
  flush(): void {
    for (const reason of [...this.#pending.keys()]) this.#write(reason);
  }

  #write(reason: RefusalReason): void {
    const pending = this.#pending.get(reason);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#pending.delete(reason);
    this.#lastLine.set(reason, Date.now());
    const { last, refused, withoutGreeting } = pending;
    const what = refused === 1 ? 'a connection' : `${refused} connections`;
    this.log.warn(
      { event: 'connections.refused', reason, refused, withoutGreeting, proto: last.protocol, client: last.client, detail: last.detail },
      `refused ${what} (${reason}): ${last.detail}${refused > 1 ? `; the last from ${last.client}` : ` from ${last.client}`}`,
    );
  }
}
