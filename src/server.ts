import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
import type { ListenerConfig, ProxyConfig } from './config/types.js';
import { createProxyContext, type ProxyContext } from './context.js';
import { ImapFront } from './protocols/imap/front.js';
import { Pop3Front } from './protocols/pop3/front.js';
import { newSessionId, type SessionEnv } from './protocols/session.js';
import { createSmtpFront } from './protocols/smtp/front.js';

/** Bursts of connections must queue in the kernel, not be refused. */
const LISTEN_BACKLOG = 511;

export interface BoundListener extends ListenerConfig {
  /** The port actually bound (differs from the configured one when that was 0). */
  port: number;
}

export interface RunningProxy {
  context: ProxyContext;
  listeners: BoundListener[];
  activeSessions(): number;
  /** Stops accepting and closes every connection. */
  close(): Promise<void>;
}

/**
 * Starts one server per configured listener. Accepting a connection does nothing but create
 * the session object: no DNS, no upstream dial, no token request happens on the accept path,
 * and an error in one connection stays in that connection.
 */
export async function startProxy(config: ProxyConfig, log: Logger): Promise<RunningProxy> {
  const context = createProxyContext(config, log);
  const secureContext = config.tls ? createSecureContext({ cert: config.tls.cert, key: config.tls.key.reveal() }) : undefined;
  const servers: { server: Server; close: () => Promise<void> }[] = [];
  const sockets = new Set<Socket>();
  let active = 0;
  const count = (delta: 1 | -1) => {
    active += delta;
  };

  const bound: BoundListener[] = [];
  try {
    for (const listener of config.listeners) {
      if (listener.protocol === 'smtp') {
        const smtp = createSmtpFront(context, listener, log, count);
        smtp.on('error', (error) => log.error({ event: 'listener.error', cause: error.message }, 'SMTP listener error'));
        const server = await listen(listener, (onListening) => smtp.listen(listener.port, listener.host, LISTEN_BACKLOG, onListening));
        servers.push({ server, close: () => new Promise((resolve) => smtp.close(() => resolve())) });
        bound.push(announce(listener, server, log));
        continue;
      }
      const Front = listener.protocol === 'imap' ? ImapFront : Pop3Front;
      const accept = (socket: Socket) => {
        sockets.add(socket);
        count(1);
        let closed = false;
        const env: SessionEnv = {
          ctx: context,
          listener,
          ...(secureContext ? { secureContext } : {}),
          log: log.child({ sid: newSessionId(), proto: listener.protocol, client: `${socket.remoteAddress}:${socket.remotePort}` }),
          onClose: () => {
            if (closed) return;
            closed = true;
            sockets.delete(socket);
            count(-1);
          },
        };
        try {
          new Front(socket, env);
        } catch (error) {
          env.log.error({ event: 'session.error', cause: (error as Error).message }, 'session failed to start');
          socket.destroy();
        }
      };
      const server = listener.tls === 'implicit'
        ? createTlsServer({ cert: config.tls!.cert, key: config.tls!.key.reveal(), handshakeTimeout: 15_000 }, accept)
        : createNetServer(accept);
      server.on('tlsClientError', (error: Error) => log.debug({ event: 'tls.client-error', proto: listener.protocol, cause: error.message }, 'client TLS handshake failed'));
      server.on('error', (error) => log.error({ event: 'listener.error', cause: error.message }, 'listener error'));
      await listen(listener, (onListening) => server.listen({ port: listener.port, host: listener.host, backlog: LISTEN_BACKLOG }, onListening));
      servers.push({ server, close: () => new Promise((resolve) => server.close(() => resolve())) });
      bound.push(announce(listener, server, log));
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.close()));
    throw error;
  }

  return {
    context,
    listeners: bound,
    activeSessions: () => active,
    async close() {
      const closing = Promise.all(servers.map((s) => s.close()));
      for (const socket of sockets) socket.destroy();
      await closing;
    },
  };
}

function listen(listener: ListenerConfig, start: (onListening: () => void) => Server | void): Promise<Server> {
  return new Promise((resolve, reject) => {
    let server: Server | void = undefined;
    const onError = (error: NodeJS.ErrnoException) => {
      const hint = error.code === 'EADDRINUSE' ? ' (port already in use: change listeners[].port)' : error.code === 'EACCES' ? ' (permission denied: use a port above 1023)' : '';
      reject(new Error(`cannot listen on ${listener.host}:${listener.port} for ${listener.protocol}: ${error.code ?? error.message}${hint}`));
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
