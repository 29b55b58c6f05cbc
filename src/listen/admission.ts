/** A limit that was reached: the connection hears "try later". */
export type LimitReason = 'max-connections' | 'max-connections-per-address' | 'open-files';
/** Why a connection was turned away; also the `reason` label of o365p_connections_refused_total. */
export type RefusalReason = LimitReason | 'proxy-header';

export interface AdmissionLimits {
  /** clients.maxConnections: every listener together. */
  maxConnections: number;
  /** clients.maxConnectionsPerAddress; 0 turns it off. */
  maxConnectionsPerAddress: number;
  /** What the open-files limit allows (Infinity when unknown). */
  openFiles: number;
}

/**
 * One connection's place: taken when the socket is accepted, given back when it closes
 * (`release` may be called any number of times). The client's address is only known once a
 * PROXY header was read, so the per-address count starts at `bind`.
 */
export interface Ticket {
  bind(address: string): LimitReason | undefined | Promise<LimitReason | undefined>;
  release(): void;
}

/**
 * What the accept path asks. One process counts itself (Admission); a worker of several
 * counts its open files itself and asks the primary for the instance's caps when its
 * ticket is bound to the client's address.
 */
export interface ConnectionAdmission {
  /** Set anew by a reload. */
  limits: AdmissionLimits;
  /** Connections of this process holding a ticket now. */
  readonly open: number;
  admit(): Ticket | LimitReason;
}

/** The ticket of a process that counts itself: answers at once. */
export interface SyncTicket extends Ticket {
  bind(address: string): LimitReason | undefined;
}

/**
 * Counts the connections of one proxy instance, across all its listeners, and says whether one
 * more may come in. Pure bookkeeping: the accept path calls it and does the talking.
 */
export class Admission implements ConnectionAdmission {
  #limits: AdmissionLimits;
  #open = 0;
  readonly #perAddress = new Map<string, number>();

  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
  }

  get limits(): AdmissionLimits {
    return this.#limits;
  }

  /** New limits apply to connections accepted from now on; none is cut. */
  set limits(limits: AdmissionLimits) {
    this.#limits = limits;
  }

  /** Connections holding a ticket now. */
  get open(): number {
    return this.#open;
  }

  connectionsFrom(address: string): number {
    return this.#perAddress.get(address) ?? 0;
  }

  /** A ticket for a connection just accepted, or why there is no room. */
  admit(): SyncTicket | LimitReason {
    // The tighter of the two limits names the reason, so the log points at the right fix.
    if (this.#open >= this.#limits.openFiles && this.#limits.openFiles <= this.#limits.maxConnections) return 'open-files';
    if (this.#open >= this.#limits.maxConnections) return 'max-connections';
    this.#open++;
    let address: string | undefined;
    let released = false;
    return {
      bind: (client) => {
        const perAddress = this.#limits.maxConnectionsPerAddress;
        const current = this.connectionsFrom(client);
        if (perAddress > 0 && current >= perAddress) return 'max-connections-per-address';
        address = client;
        this.#perAddress.set(client, current + 1);
        return undefined;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#open--;
        if (address === undefined) return;
        const left = this.connectionsFrom(address) - 1;
        if (left > 0) this.#perAddress.set(address, left);
        else this.#perAddress.delete(address);
      },
    };
  }
}
