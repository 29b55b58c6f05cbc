import { createServer as createNetServer, type Server } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { Acceptor, type AcceptorOptions } from './acceptor.js';
import type { ListenerConfig, ProxyConfig } from '../config/types.js';
import type { Metrics } from '../ops/metrics.js';
import { isOutOfDescriptors, reportOutOfDescriptors } from '../ops/open-files.js';
import { listenerAddress, logClientTlsFailure } from '../ops/tls-failures.js';
import { ImapFront } from '../fronts/imap/front.js';
import { Pop3Front } from '../fronts/pop3/front.js';
import { ClientSockets } from '../fronts/smtp/client-sockets.js';
import { createSmtpFront } from '../fronts/smtp/front.js';
import { newSessionId, type SessionRegistry } from './sessions.js';

/** What smtp-server adds to a connection's error: the client, and for a failed STARTTLS handshake `meta.stage` "connect". */
type SmtpConnectionError = NodeJS.ErrnoException & { remoteAddress?: string; meta?: { stage?: string } };

/**
 * Bursts of connections must queue in the kernel, not be refused. Node's default, 511, is too
 * shallow for 1,000 clients connecting at once: the connections past it are dropped and the
 * client's kernel tries again after a second (measured: hundreds of ListenOverflows per
 * 1,000-login burst on a busy 2-core machine, and the burst taking 2–6 s). Linux caps the
 * queue at net.core.somaxconn (4096 by default since 5.4).
 */
const LISTEN_BACKLOG = 4096;

export interface BoundListener extends ListenerConfig {
  /** The port actually bound (differs from the configured one when that was 0). */
  port: number;
}

/** What every listener shares: the accept path's parts, the session registry, the local TLS of now. */
export interface ListenerDeps extends Omit<AcceptorOptions, 'listener' | 'deliver'> {
  registry: SessionRegistry;
  metrics: Metrics;
  log: Logger;
  secureContext: () => SecureContext | undefined;
}

export interface StartedListener {
  bound: BoundListener;
  acceptor: Acceptor;
  /** Stops accepting; resolves when the listener's connections are all closed. */
  close(): Promise<void>;
  /** Applies what a reload changes for this listener's new sessions beyond the context. */
  reload(config: ProxyConfig): void;
}

/** Binds one listener: accepted connections take the accept path, then become a session of its protocol. */
export function startListener(listener: ListenerConfig, deps: ListenerDeps): Promise<StartedListener> {
  return listener.protocol === 'smtp' ? startSmtpListener(listener, deps) : startLineListener(listener, deps);
}

async function startLineListener(listener: ListenerConfig, deps: ListenerDeps): Promise<StartedListener> {
  const { registry, log, metrics } = deps;
  const Front = listener.protocol === 'imap' ? ImapFront : Pop3Front;
  const acceptor = new Acceptor({ ...deps, listener, deliver: (socket, _raw, client) => {
    registry.open(listener.protocol, client, ({ log: sessionLog, ctx, close }) => {
      const secureContext = deps.secureContext();
      return new Front(socket, { ctx, listener, ...(secureContext ? { secureContext } : {}), log: sessionLog, clientAddress: client.address, onClose: close });
    }, () => socket.destroy());
  } });
  const server = createNetServer(acceptor.accept);
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (isOutOfDescriptors(error)) reportOutOfDescriptors(error, listener.protocol, log, metrics);
    else log.error({ event: 'listener.error', cause: error.message }, 'listener error');
  });
  await listen(listener, (onListening) => server.listen({ port: listener.port, host: listener.host, backlog: LISTEN_BACKLOG }, onListening));
  return {
    bound: announce(listener, server, log),
    acceptor,
    close: () => new Promise((resolve) => server.close(() => resolve())),
    reload: () => {},
  };
}

async function startSmtpListener(listener: ListenerConfig, deps: ListenerDeps): Promise<StartedListener> {
  const { registry, log, metrics } = deps;
  const clientSockets = new ClientSockets();
  const smtp = createSmtpFront(registry, listener, clientSockets);
  // smtp-server reports each client connection's errors (resets, failed STARTTLS handshakes)
  // on the server object; binding errors surface in listen() below. A failed handshake is
  // said like the other listeners' (a client that refused the certificate is the operator's
  // business); resets are the client's; running out of file descriptors is the operator's.
  let bound = listener;
  smtp.on('error', (error: SmtpConnectionError) => {
    if (isOutOfDescriptors(error)) reportOutOfDescriptors(error, listener.protocol, log, metrics);
    else if (error.meta?.stage === 'connect') logClientTlsFailure(log, error, { proto: 'smtp', listener: listenerAddress(bound.host, bound.port), tls: 'starttls', client: error.remoteAddress ?? 'unknown' });
    else log.debug({ event: 'client.error', proto: 'smtp', code: error.code, cause: error.message }, 'SMTP client connection error');
  });
  // smtp-server keeps its listening server (its close() waits on it) but the connections
  // take our accept path, and reach it through connect() with the real client's address.
  const acceptor = new Acceptor({ ...deps, listener, deliver: (socket, raw, client, release) => {
    const id = newSessionId();
    clientSockets.add(id, raw, release);
    smtp.connect(socket, { id, remoteAddress: client.address, remotePort: client.port });
  } });
  smtp.server.removeAllListeners('connection');
  smtp.server.on('connection', acceptor.accept);
  const server = await listen(listener, (onListening) => smtp.listen(listener.port, listener.host, LISTEN_BACKLOG, onListening));
  bound = announce(listener, server, log);
  return {
    bound,
    acceptor,
    close: () => smtp.stopListening(),
    reload: (config) => {
      if (config.tls) smtp.updateSecureContext({ cert: config.tls.cert, key: config.tls.key.reveal() });
    },
  };
}

function listen(listener: ListenerConfig, start: (onListening: () => void) => Server | void): Promise<Server> {
  return new Promise((resolve, reject) => {
    let server: Server | void = undefined;
    const onError = (error: NodeJS.ErrnoException) => {
      const hint = error.code === 'EADDRINUSE' ? ' (port already in use: change listeners[].port)' : error.code === 'EACCES' ? ' (permission denied: use a port above 1023)' : '';
      // The cause keeps the code and port, for callers that word their own advice (the demo's --port-base).
      reject(new Error(`cannot listen on ${listener.host}:${listener.port} for ${listener.protocol}: ${error.code ?? error.message}${hint}`, { cause: error }));
    };
    server = start(() => {
      (server as Server).off('error', onError);
      resolve(server as Server);
    });
    (server as Server).once('error', onError);
  });
}

function announce(listener: ListenerConfig, server: Server, log: Logger): BoundListener {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : listener.port;
  log.info({ event: 'listening', proto: listener.protocol, host: listener.host, port, tls: listener.tls }, `listening for ${listener.protocol} on ${listener.host}:${port} (tls: ${listener.tls})`);
  return { ...listener, port };
}
