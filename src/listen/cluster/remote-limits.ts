import type { ProxyConfig, Protocol } from '../../config/types.js';
import type { SharedLimits } from '../../auth/context.js';
import type { LoginAdmission, LoginLimiter } from '../../auth/lockout.js';
import { GateRefusal, type GateLimits, type RefusalReason, type SessionGate, type Slot } from '../../upstream/mailbox-gate.js';
import { Admission, type AdmissionLimits, type ConnectionAdmission, type LimitReason, type Ticket } from '../admission.js';
import type { Channel } from './channel.js';

/**
 * A worker's side of the instance-wide counts (instance-limits.ts keeps them in the primary).
 * Each thing held gets an id of this worker's making, so giving it back is a note, not a
 * round trip, and the primary can give back all of a worker's places when it dies.
 */
let lastTicket = 0;
const nextTicket = () => ++lastTicket;

/** The lockout, asked of the primary: the same counts whichever worker a login lands on. */
class RemoteLoginLimiter implements LoginLimiter {
  constructor(
    readonly maxFailures: number,
    readonly channel: Channel,
  ) {}

  async begin(clientAddress: string, username: string, fingerprint: string): Promise<LoginAdmission> {
    if (this.maxFailures === 0) return { locked: false, ticket: { failed: () => 0, succeeded: () => {}, abandoned: () => {} } };
    const ticket = nextTicket();
    const answer = await this.channel.request<{ locked: true; until: number; failures: number } | { locked: false }>('login.begin', { ticket, address: clientAddress, username, fingerprint });
    if (answer.locked) return answer;
    const channel = this.channel;
    let settled = false;
    const once = (op: string) => {
      if (settled) return false;
      settled = true;
      channel.note(op, { ticket });
      return true;
    };
    return {
      locked: false,
      ticket: {
        failed: async () => (settled ? 0 : ((settled = true), channel.request<number>('login.failed', { ticket }))),
        succeeded: () => void once('login.succeeded'),
        abandoned: () => void once('login.abandoned'),
      },
    };
  }
}

/** The per-mailbox upstream session caps, asked of the primary's gate. */
class RemoteGate implements SessionGate {
  readonly #held: Record<Protocol, number> = { imap: 0, pop3: 0, smtp: 0 };

  constructor(readonly channel: Channel) {}

  async acquire(mailbox: string, protocol: Protocol, signal?: AbortSignal): Promise<Slot> {
    if (signal?.aborted) throw new GateRefusal('cancelled', 'the client left');
    const ticket = nextTicket();
    const cancel = () => this.channel.note('gate.cancel', { ticket });
    signal?.addEventListener('abort', cancel, { once: true });
    let answer: { ok: true } | { ok: false; reason: RefusalReason; message: string };
    try {
      answer = await this.channel.request('gate.acquire', { ticket, mailbox, protocol });
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
    if (!answer.ok) throw new GateRefusal(answer.reason, answer.message);
    this.#held[protocol]++;
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      this.#held[protocol]--;
      this.channel.note('gate.release', { ticket });
    };
    if (signal?.aborted) {
      release();
      throw new GateRefusal('cancelled', 'the client left');
    }
    return {
      release,
      holdUntilClosed(connection) {
        if (connection.closed) release();
        else connection.once('close', release);
      },
    };
  }

  throttle(mailbox: string, protocol: Protocol, backoffMs: number): void {
    this.channel.note('gate.throttle', { mailbox, protocol, backoffMs });
  }

  /** The primary takes new limits from its own reload. */
  reconfigure(_limits: GateLimits): void {}

  inUse(protocol: Protocol): number {
    return this.#held[protocol];
  }
}

/**
 * A worker's admission: its own open-files budget first (the limit is per process), then the
 * instance's connection caps, which the primary counts over every worker.
 */
export class WorkerAdmission implements ConnectionAdmission {
  readonly #local = new Admission({ maxConnections: Infinity, maxConnectionsPerAddress: 0, openFiles: Infinity });
  #limits: AdmissionLimits;

  constructor(
    limits: AdmissionLimits,
    readonly channel: Channel,
  ) {
    this.#limits = limits;
    this.limits = limits;
  }

  get limits(): AdmissionLimits {
    return this.#limits;
  }

  set limits(limits: AdmissionLimits) {
    this.#limits = limits;
    this.#local.limits = { maxConnections: Infinity, maxConnectionsPerAddress: 0, openFiles: limits.openFiles };
  }

  get open(): number {
    return this.#local.open;
  }

  /**
   * The open-files budget at once; the instance's caps when the client's address is known
   * (after a PROXY header), in one round trip to the primary.
   */
  admit(): Ticket | LimitReason {
    const local = this.#local.admit();
    if (typeof local === 'string') return local;
    const ticket = nextTicket();
    let granted = false;
    let held = true;
    return {
      bind: async (address) => {
        const refused = await this.channel.request<LimitReason | null>('conn.admit', { ticket, address });
        granted = refused === null && held;
        // Closed while the primary answered: the place it just gave goes back.
        if (refused === null && !held) this.channel.note('conn.release', { ticket });
        return refused ?? undefined;
      },
      release: () => {
        if (!held) return;
        held = false;
        local.release();
        // A place the primary never gave needs no giving back.
        if (granted) this.channel.note('conn.release', { ticket });
      },
    };
  }
}

/**
 * The lockout and the upstream caps of a worker, for createProxyContext, and the instance's
 * credential key: without it each worker would fingerprint the same password differently,
 * and a burst of one job's logins spread over many workers would count as many guesses.
 */
export async function remoteLimits(channel: Channel): Promise<SharedLimits> {
  const { key } = await channel.request<{ key: string }>('instance.key');
  return {
    credentialKey: Buffer.from(key, 'base64'),
    failedLogins: (config: ProxyConfig) => new RemoteLoginLimiter(config.clients.maxFailedLogins, channel),
    mailboxGate: new RemoteGate(channel),
  };
}
