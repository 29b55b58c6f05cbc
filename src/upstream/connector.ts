import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, rootCertificates, type ConnectionOptions, type SecureContext, type TLSSocket } from 'node:tls';
import { isOutOfDescriptors } from '../ops/open-files.js';
import type { HostPort, HttpProxyConfig } from '../config/types.js';
import type { Metrics } from '../ops/metrics.js';
import { UpstreamError } from '../outbound/errors.js';
import { openTunnel } from '../outbound/http-proxy.js';

export interface ConnectorOptions {
  ca?: string;
  /** When set, every mail connection is a CONNECT tunnel through this proxy. */
  proxy?: HttpProxyConfig;
  metrics?: Metrics;
  connectTimeoutMs: number;
  tlsTimeoutMs: number;
}

/**
 * Opens connections to the upstream mail hosts. The TLS context is built once (a `ca` passed
 * to every tls.connect builds a context per connection: ~40% of the setup rate and ~20 KiB
 * each, measured) and TLS sessions are resumed per host, so a burst of logins stays cheap.
 * Certificates are always verified.
 */
export class UpstreamConnector {
  readonly #secureContext: SecureContext;
  readonly #sessions = new Map<string, Buffer>();
  readonly #options: ConnectorOptions;

  constructor(options: ConnectorOptions) {
    this.#options = options;
    // An extra CA adds to the public roots, as NODE_EXTRA_CA_CERTS would; it does not replace them.
    this.#secureContext = createSecureContext(options.ca ? { ca: [...rootCertificates, options.ca] } : {});
  }

  /** Plain TCP (SMTP submission starts in clear and upgrades with STARTTLS). */
  async connectPlain(target: HostPort): Promise<Socket> {
    const started = Date.now();
    const { proxy, connectTimeoutMs, metrics } = this.#options;
    if (proxy) {
      const tunnel = await openTunnel(proxy, target, connectTimeoutMs);
      metrics?.upstreamConnectSeconds.observe({ host: target.host }, (Date.now() - started) / 1000);
      return tunnel;
    }
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: target.host, port: target.port });
      const timer = setTimeout(() => fail(this.#connectTimeout(target)), connectTimeoutMs);
      const fail = (error: UpstreamError) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      socket.once('error', (error) => fail(this.#connectError(target, error)));
      socket.once('connect', () => {
        clearTimeout(timer);
        this.#connected(socket, target, started);
        socket.removeAllListeners('error');
        resolve(socket);
      });
    });
  }

  /**
   * Implicit TLS (IMAP 993, POP3 995). Without an HTTP proxy, one TLS socket that connects
   * itself: a TCP socket wrapped in a TLS one would be two sockets' objects per session (about
   * 2 KiB of an idle session, and a little of every login).
   */
  async connectTls(target: HostPort): Promise<TLSSocket> {
    if (this.#options.proxy) return this.startTls(await this.connectPlain(target), target);
    const started = Date.now();
    const { connectTimeoutMs, tlsTimeoutMs } = this.#options;
    return new Promise((resolve, reject) => {
      const secure = this.#resumeLater(tlsConnect({ ...this.#tlsOptions(target), port: target.port }), target);
      let connected = false;
      let timer = setTimeout(() => fail(this.#connectTimeout(target)), connectTimeoutMs);
      const fail = (error: UpstreamError) => {
        clearTimeout(timer);
        secure.destroy();
        reject(error);
      };
      secure.once('connect', () => {
        connected = true;
        clearTimeout(timer);
        this.#connected(secure, target, started);
        timer = setTimeout(() => fail(this.#tlsTimeout(target)), tlsTimeoutMs);
      });
      secure.once('error', (error: NodeJS.ErrnoException) => fail(connected ? this.#tlsError(target, error) : this.#connectError(target, error)));
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        secure.removeAllListeners('error');
        resolve(secure);
      });
    });
  }

  /** TLS over an open socket (after STARTTLS, or over an HTTP proxy's tunnel for implicit TLS). */
  startTls(socket: Socket, target: HostPort): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const secure = this.#resumeLater(tlsConnect({ ...this.#tlsOptions(target), socket }), target);
      const timer = setTimeout(() => fail(this.#tlsTimeout(target)), this.#options.tlsTimeoutMs);
      const fail = (error: UpstreamError) => {
        clearTimeout(timer);
        secure.destroy();
        reject(error);
      };
      secure.once('error', (error: NodeJS.ErrnoException) => fail(this.#tlsError(target, error)));
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        secure.removeAllListeners('error');
        resolve(secure);
      });
    });
  }

  /** The shared context, the host's name to verify, and its last TLS session to resume. */
  #tlsOptions(target: HostPort): ConnectionOptions {
    const key = describe(target);
    const session = this.#sessions.get(key);
    return {
      servername: isIpAddress(target.host) ? undefined : target.host,
      host: target.host,
      secureContext: this.#secureContext,
      ...(session ? { session } : {}),
    };
  }

  /**
   * Keeps the connection's TLS session tickets for the next connection to resume. Not a
   * closure of the caller's promise: the listener stays on the socket for its whole life, and
   * would keep the timer and the promise's functions with it (~1 KiB per idle session).
   */
  #resumeLater(secure: TLSSocket, target: HostPort): TLSSocket {
    const sessions = this.#sessions;
    const key = describe(target);
    return secure.on('session', (ticket: Buffer) => sessions.set(key, ticket));
  }

  #connected(socket: Socket, target: HostPort, started: number): void {
    this.#options.metrics?.upstreamConnectSeconds.observe({ host: target.host }, (Date.now() - started) / 1000);
    socket.setNoDelay(true);
  }

  #connectTimeout(target: HostPort): UpstreamError {
    return new UpstreamError('timeout', `no TCP connection to ${describe(target)} within ${this.#options.connectTimeoutMs} ms`);
  }

  #tlsTimeout(target: HostPort): UpstreamError {
    return new UpstreamError('timeout', `TLS handshake with ${describe(target)} did not finish within ${this.#options.tlsTimeoutMs} ms`);
  }

  /** Out of descriptors is the proxy's own trouble, not Exchange's: said so, and counted. */
  #connectError(target: HostPort, error: Error): UpstreamError {
    const local = isOutOfDescriptors(error);
    if (local) this.#options.metrics?.outOfDescriptors.add({ where: 'upstream' });
    return new UpstreamError('unreachable', `cannot connect to ${describe(target)}: ${(error as NodeJS.ErrnoException).code ?? error.message}${local ? ' (this process is out of file descriptors: raise its open-files limit or lower clients.maxConnections)' : ''}`);
  }

  #tlsError(target: HostPort, error: NodeJS.ErrnoException): UpstreamError {
    const certProblem = error.code?.startsWith('ERR_TLS_CERT') || /certificate|self.signed|verify/i.test(error.message);
    return certProblem
      ? new UpstreamError('tls', `TLS certificate of ${describe(target)} not trusted: ${error.message}`)
      : new UpstreamError('unreachable', `TLS with ${describe(target)} failed: ${error.code ?? error.message}`);
  }
}

export function describe(target: HostPort): string {
  return `${target.host}:${target.port}`;
}

function isIpAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
