import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, rootCertificates, type SecureContext, type TLSSocket } from 'node:tls';
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
      const timer = setTimeout(() => fail(new UpstreamError('timeout', `no TCP connection to ${describe(target)} within ${this.#options.connectTimeoutMs} ms`)), this.#options.connectTimeoutMs);
      const fail = (error: UpstreamError) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      socket.once('error', (error) => {
        // Out of descriptors is the proxy's own trouble, not Exchange's: say so, and count it.
        const local = isOutOfDescriptors(error);
        if (local) this.#options.metrics?.outOfDescriptors.add({ where: 'upstream' });
        fail(new UpstreamError('unreachable', `cannot connect to ${describe(target)}: ${(error as NodeJS.ErrnoException).code ?? error.message}${local ? ' (this process is out of file descriptors: raise its open-files limit or lower clients.maxConnections)' : ''}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        this.#options.metrics?.upstreamConnectSeconds.observe({ host: target.host }, (Date.now() - started) / 1000);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        resolve(socket);
      });
    });
  }

  /** Implicit TLS (IMAP 993, POP3 995). */
  async connectTls(target: HostPort): Promise<TLSSocket> {
    const socket = await this.connectPlain(target);
    return this.startTls(socket, target);
  }

  /** TLS over an open socket (after STARTTLS, or right after connect for implicit TLS). */
  startTls(socket: Socket, target: HostPort): Promise<TLSSocket> {
    const key = `${target.host}:${target.port}`;
    return new Promise((resolve, reject) => {
      const session = this.#sessions.get(key);
      const secure = tlsConnect({
        socket,
        servername: isIpAddress(target.host) ? undefined : target.host,
        host: target.host,
        secureContext: this.#secureContext,
        ...(session ? { session } : {}),
      });
      const timer = setTimeout(() => fail(new UpstreamError('timeout', `TLS handshake with ${describe(target)} did not finish within ${this.#options.tlsTimeoutMs} ms`)), this.#options.tlsTimeoutMs);
      const fail = (error: UpstreamError) => {
        clearTimeout(timer);
        secure.destroy();
        reject(error);
      };
      // Not a closure of this scope: a listener stays on the socket for its whole life, and
      // would keep the timer and the promise's functions with it (~1 KiB per idle session).
      secure.on('session', this.#remember(key));
      secure.once('error', (error: NodeJS.ErrnoException) => {
        const certProblem = error.code?.startsWith('ERR_TLS_CERT') || /certificate|self.signed|verify/i.test(error.message);
        fail(certProblem
          ? new UpstreamError('tls', `TLS certificate of ${describe(target)} not trusted: ${error.message}`)
          : new UpstreamError('unreachable', `TLS with ${describe(target)} failed: ${error.code ?? error.message}`));
      });
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        secure.removeAllListeners('error');
        resolve(secure);
      });
    });
  }

  /** Keeps the newest TLS session ticket of `key` (host:port) for the next connection to resume. */
  #remember(key: string): (ticket: Buffer) => void {
    const sessions = this.#sessions;
    return (ticket) => sessions.set(key, ticket);
  }
}

export function describe(target: HostPort): string {
  return `${target.host}:${target.port}`;
}

function isIpAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
