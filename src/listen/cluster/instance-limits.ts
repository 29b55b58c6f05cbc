import { randomBytes } from 'node:crypto';
import type { ProxyConfig } from '../../config/types.js';
import { gateLimits } from '../../auth/context.js';
import { FailedLoginLimiter, type LoginTicket } from '../../auth/lockout.js';
import type { Metrics } from '../../ops/metrics.js';
import { GateRefusal, MailboxGate } from '../../upstream/mailbox-gate.js';
import type { Protocol } from '../../config/types.js';
import { Admission, type AdmissionLimits, type SyncTicket } from '../admission.js';
import type { Handlers } from './channel.js';

/** What a worker holds in the primary's counts, by the id the worker gave it. */
class Holdings {
  readonly connections = new Map<string, SyncTicket>();
  readonly logins = new Map<string, LoginTicket>();
  readonly slots = new Map<string, { release(): void }>();
  readonly waits = new Map<string, AbortController>();
  gone = false;

  /** The worker died: give back everything it held, so its places are free again. */
  releaseAll(): void {
    this.gone = true;
    for (const ticket of this.connections.values()) ticket.release();
    for (const ticket of this.logins.values()) ticket.abandoned();
    for (const slot of this.slots.values()) slot.release();
    for (const wait of this.waits.values()) wait.abort();
    this.connections.clear();
    this.logins.clear();
    this.slots.clear();
    this.waits.clear();
  }
}

/**
 * The counts that protect the whole instance, kept in the primary when several workers run
 * the listeners: connection caps, the failed-login lockout and the per-mailbox upstream
 * session caps. The workers ask over the IPC channel (remote-limits.ts is their side), so a
 * guesser or a flood gets no more by landing on several workers. Open files are each
 * worker's own business (the limit is per process).
 */
export class InstanceLimits {
  readonly #admission: Admission;
  #lockout: FailedLoginLimiter;
  readonly #gate: MailboxGate;
  readonly #workers = new Map<string, Holdings>();
  /**
   * Fingerprints of credentials and hashes of unknown usernames are keyed with this, the same
   * on every worker: random, made at start, never written anywhere. The only key material on
   * the channel, and no credential.
   */
  readonly #credentialKey = randomBytes(32).toString('base64');

  constructor(config: ProxyConfig, metrics: Metrics) {
    this.#admission = new Admission(connectionLimits(config));
    this.#lockout = lockoutOf(config);
    this.#gate = new MailboxGate(gateLimits(config), metrics);
  }

  /** Connections held now across the workers. */
  get openConnections(): number {
    return this.#admission.open;
  }

  /** A reloaded config: new caps for what comes next; the lockout starts empty, as in one process. */
  reconfigure(config: ProxyConfig): void {
    this.#admission.limits = connectionLimits(config);
    this.#lockout = lockoutOf(config);
    this.#gate.reconfigure(gateLimits(config));
  }

  /** A worker has exited: everything it held is released. */
  workerGone(worker: string): void {
    this.#workers.get(worker)?.releaseAll();
    this.#workers.delete(worker);
  }

  /** The requests one worker may make. */
  handlersFor(worker: string): Handlers {
    const held = new Holdings();
    this.#workers.set(worker, held);
    return { 'instance.key': () => ({ key: this.#credentialKey }), ...this.#connectionHandlers(held), ...this.#loginHandlers(held), ...this.#gateHandlers(held) };
  }

  #connectionHandlers(held: Holdings): Handlers {
    return {
      // Both caps in one round trip, once the worker knows the client's address.
      'conn.admit': ({ ticket, address }) => {
        if (held.gone) return 'max-connections';
        const admitted = this.#admission.admit();
        if (typeof admitted === 'string') return admitted;
        const refused = admitted.bind(String(address));
        if (refused) {
          admitted.release();
          return refused;
        }
        held.connections.set(String(ticket), admitted);
        return null;
      },
      'conn.release': ({ ticket }) => {
        held.connections.get(String(ticket))?.release();
        held.connections.delete(String(ticket));
      },
    };
  }

  #loginHandlers(held: Holdings): Handlers {
    return {
      'login.begin': ({ ticket, address, username, fingerprint }) => {
        const admission = this.#lockout.begin(String(address), String(username), String(fingerprint));
        if (admission.locked) return admission;
        if (held.gone) admission.ticket.abandoned();
        else held.logins.set(String(ticket), admission.ticket);
        return { locked: false };
      },
      'login.failed': ({ ticket }) => this.#settle(held, ticket, (t) => t.failed()) ?? 0,
      'login.succeeded': ({ ticket }) => void this.#settle(held, ticket, (t) => t.succeeded()),
      'login.abandoned': ({ ticket }) => void this.#settle(held, ticket, (t) => t.abandoned()),
    };
  }

  #settle<T>(held: Holdings, ticket: unknown, how: (ticket: LoginTicket) => T): T | undefined {
    const login = held.logins.get(String(ticket));
    held.logins.delete(String(ticket));
    return login ? how(login) : undefined;
  }

  #gateHandlers(held: Holdings): Handlers {
    return {
      'gate.acquire': async ({ ticket, mailbox, protocol }) => {
        const id = String(ticket);
        const wait = new AbortController();
        held.waits.set(id, wait);
        try {
          const slot = await this.#gate.acquire(String(mailbox), protocol as Protocol, wait.signal);
          if (held.gone || wait.signal.aborted) slot.release();
          else held.slots.set(id, slot);
          return { ok: true };
        } catch (error) {
          if (error instanceof GateRefusal) return { ok: false, reason: error.reason, message: error.message };
          throw error;
        } finally {
          held.waits.delete(id);
        }
      },
      'gate.cancel': ({ ticket }) => held.waits.get(String(ticket))?.abort(),
      'gate.release': ({ ticket }) => {
        held.slots.get(String(ticket))?.release();
        held.slots.delete(String(ticket));
      },
      'gate.throttle': ({ mailbox, protocol, backoffMs }) => this.#gate.throttle(String(mailbox), protocol as Protocol, Number(backoffMs)),
    };
  }
}

function connectionLimits(config: ProxyConfig): AdmissionLimits {
  const { maxConnections, maxConnectionsPerAddress } = config.clients;
  // Open files are counted by each worker against its own limit.
  return { maxConnections, maxConnectionsPerAddress, openFiles: Infinity };
}

function lockoutOf(config: ProxyConfig): FailedLoginLimiter {
  return new FailedLoginLimiter(config.clients.maxFailedLogins, config.clients.failedLoginWindowMs);
}
