import type { BlockList, Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { ListenerConfig } from '../config/types.js';
import { upgradeToTls } from '../fronts/session.js';
import { listenerAddress, logClientTlsFailure } from '../ops/tls-failures.js';
import type { AdmissionLimits, ConnectionAdmission, LimitReason } from './admission.js';
import { isTrusted, readProxyHeader, sendsProxyHeader, socketClient, trustedSources, watchForProxyHeader, type ClientAddress } from './proxy-reader.js';
import type { RefusalLog } from './refusal-log.js';
import { REFUSAL_DEADLINE_MS, tryLaterLine, type Refuser } from './refuser.js';

/** The handshake deadline of implicit-TLS listeners (tls.Server's default is 120 s). */
const TLS_HANDSHAKE_TIMEOUT_MS = 15_000;

export interface AcceptorOptions {
  listener: ListenerConfig;
  admission: ConnectionAdmission;
  refuser: Refuser;
  refusals: RefusalLog;
  log: Logger;
  /** The local TLS context of now (a reload replaces it); used on implicit-TLS listeners. */
  secureContext: () => SecureContext | undefined;
  /**
   * Hands an admitted connection to its protocol front: `socket` to speak on (TLS on
   * implicit-TLS listeners), `raw` the TCP socket under it, `client` the real client.
   * `release` gives the connection's place back (raw's close does too): a front whose library
   * takes raw's listeners calls it when the session ends (smtp-server does, at STARTTLS).
   */
  deliver: (socket: Socket, raw: Socket, client: ClientAddress, release: () => void) => void;
}

/**
 * The accept path of one listener, the same for IMAP, POP3 and SMTP:
 * PROXY header (if configured) → admission (connection caps) → implicit TLS → the front.
 * Nothing here talks to Exchange or Entra ID, and a refusal costs no more than its "try later"
 * line needs.
 */
export class Acceptor {
  readonly #options: AcceptorOptions;
  readonly #trusted: BlockList | undefined;
  /**
   * Accepted sockets not yet handed to a front (header, handshake, refusal), each with the
   * socket on top of it (its TLS socket once a handshake started): cut on shutdown.
   */
  readonly #unfinished = new Map<Socket, Socket>();

  constructor(options: AcceptorOptions) {
    this.#options = options;
    const sources = options.listener.proxyProtocol;
    this.#trusted = sources ? trustedSources(sources) : undefined;
  }

  /** For the listening server's 'connection' event. */
  readonly accept = (raw: Socket): void => {
    raw.on('error', () => {});
    this.#unfinished.set(raw, raw);
    raw.on('close', () => this.#unfinished.delete(raw));
    // One connection's failure stays with that connection: never an unhandled rejection.
    this.#accept(raw).catch((error: Error) => {
      this.#options.log.error({ event: 'session.error', proto: this.#options.listener.protocol, cause: error.message }, 'accepting a connection failed');
      this.#unfinished.get(raw)?.destroy();
      raw.destroy();
    });
  };

  /** Stops what has not reached a front yet (shutdown). */
  destroyUnfinished(): void {
    for (const top of this.#unfinished.values()) top.destroy();
  }

  async #accept(raw: Socket): Promise<void> {
    const ticket = this.#options.admission.admit();
    if (typeof ticket === 'string') return this.#refuse(raw, ticket, undefined);
    raw.on('close', ticket.release);
    const client = await this.#clientOf(raw);
    if (!client || raw.destroyed) return;
    // A process that counts itself answers at once; a worker of several asks its primary.
    const bound = ticket.bind(client.address);
    const reason = bound instanceof Promise ? await bound : bound;
    if (raw.destroyed) return;
    if (reason) {
      ticket.release();
      return this.#refuse(raw, reason, client);
    }
    const socket = this.#options.listener.tls === 'implicit' ? await this.#secure(raw, client) : raw;
    if (!socket || raw.destroyed) return;
    this.#unfinished.delete(raw);
    if (this.#trusted && !isTrusted(this.#trusted, socketClient(raw).address)) {
      watchForProxyHeader(socket, () => this.#badHeader(socket, client, 'a PROXY header from an address not in the listener\'s proxyProtocol list'));
    }
    this.#options.deliver(socket, raw, client, ticket.release);
  }

  /** The real client: the socket's peer, or what a trusted balancer's PROXY header says. */
  async #clientOf(raw: Socket): Promise<ClientAddress | undefined> {
    const peer = socketClient(raw);
    if (!this.#trusted) return peer;
    if (!isTrusted(this.#trusted, peer.address)) {
      // Server-speaks-first listeners look at the first bytes after the greeting instead.
      if (this.#options.listener.tls !== 'implicit' || !(await sendsProxyHeader(raw, TLS_HANDSHAKE_TIMEOUT_MS))) return peer;
      return this.#badHeader(raw, peer, 'a PROXY header from an address not in the listener\'s proxyProtocol list');
    }
    const header = await readProxyHeader(raw);
    if (!header.ok) return this.#badHeader(raw, peer, `the balancer sent no valid PROXY header: ${header.problem}`);
    return header.source ?? peer;
  }

  async #secure(raw: Socket, client: ClientAddress): Promise<TLSSocket | undefined> {
    const context = this.#options.secureContext();
    if (!context) {
      // Cannot happen with a valid config (TLS listeners need tls.certFile), but never hold a socket for nothing.
      raw.destroy();
      return undefined;
    }
    // Read now: a socket that failed its handshake no longer knows its port.
    const listener = listenerAddress(this.#options.listener.host, raw.localPort);
    try {
      return await upgradeToTls(raw, context, TLS_HANDSHAKE_TIMEOUT_MS, (secure) => {
        if (this.#unfinished.has(raw)) this.#unfinished.set(raw, secure);
      });
    } catch (error) {
      logClientTlsFailure(this.#options.log, error as Error, { proto: this.#options.listener.protocol, listener, tls: 'implicit', client: describeClient(client) });
      raw.destroy();
      return undefined;
    }
  }

  #badHeader(socket: Socket, client: ClientAddress, detail: string): undefined {
    socket.destroy();
    this.#options.refusals.refused({ reason: 'proxy-header', protocol: this.#options.listener.protocol, client: describeClient(client), greeted: false, detail });
    return undefined;
  }

  /**
   * Says "try later". `client` is undefined when the refusal comes before the PROXY header was
   * read; on a balancer's connection it is read first (TLS and the client's address follow it).
   */
  async #refuse(raw: Socket, reason: LimitReason, client: ClientAddress | undefined): Promise<void> {
    const { listener, refuser, refusals, admission } = this.#options;
    const detail = describeLimit(reason, admission.limits);
    const peer = socketClient(raw);
    if (!refuser.claim(raw)) {
      raw.destroy();
      refusals.refused({ reason, protocol: listener.protocol, client: describeClient(client ?? peer), greeted: false, detail });
      return;
    }
    if (!client && this.#trusted && isTrusted(this.#trusted, peer.address)) {
      const header = await readProxyHeader(raw, REFUSAL_DEADLINE_MS);
      if (!header.ok) return void this.#badHeader(raw, peer, `the balancer sent no valid PROXY header: ${header.problem}`);
      client = header.source;
    }
    refusals.refused({ reason, protocol: listener.protocol, client: describeClient(client ?? peer), greeted: true, detail });
    await refuser.refuse(raw, tryLaterLine(listener.protocol, reason), listener.tls === 'implicit' ? this.#options.secureContext() : undefined);
  }
}

export function describeClient(client: ClientAddress): string {
  return `${client.address}:${client.port}`;
}

function describeLimit(reason: LimitReason, limits: AdmissionLimits): string {
  if (reason === 'max-connections') return `clients.maxConnections (${limits.maxConnections}) reached`;
  if (reason === 'max-connections-per-address') return `clients.maxConnectionsPerAddress (${limits.maxConnectionsPerAddress}) reached`;
  return `the open-files limit allows ${limits.openFiles} connections; raise it (systemd LimitNOFILE=, ulimit -n) or lower clients.maxConnections`;
}
