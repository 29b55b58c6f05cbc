import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { Acceptor, describeClient, type AcceptorOptions } from './accept/acceptor.js';
import { Admission, type AdmissionLimits } from './accept/admission.js';
import { announceOpenFiles, isOutOfDescriptors, readOpenFilesBudget, reportOutOfDescriptors, type OpenFilesBudget } from './accept/open-files.js';
import { RefusalLog } from './accept/refusal-log.js';
import { Refuser } from './accept/refuser.js';
import type { ListenerConfig, ProxyConfig } from './config/types.js';
import { certificateValidities, describeValidity, RENEW_WITHIN_DAYS } from './certificate-expiry.js';
import { createProxyContext, type ProxyContext } from './context.js';
import { Metrics } from './metrics.js';
import { ImapFront } from './protocols/imap/front.js';
import { Pop3Front } from './protocols/pop3/front.js';
import { newSessionId, type SessionEnv } from './protocols/session.js';
import { ClientSockets } from './protocols/smtp/client-sockets.js';
import { createSmtpFront } from './protocols/smtp/front.js';

/** Bursts of connections must queue in the kernel, not be refused. */
const LISTEN_BACKLOG = 511;
/** How long sessions get to close after a shutdown before they are cut. */
const SHUTDOWN_GRACE_MS = 5000;

export interface BoundListener extends ListenerConfig {
  /** The port actually bound (differs from the configured one when that was 0). */
  port: number;
}

export interface RunningProxy {
  listeners: BoundListener[];
  metrics: Metrics;
  /** The context new sessions get (replaced by reload). */
  context(): ProxyContext;
  activeSessions(): number;
  /** Client connections held now, from accept until their sockets close (what the caps count). */
  openConnections(): number;
  /**
   * Takes a new config for new sessions (accounts, passwords, apps, upstream, local
   * certificate); sessions in progress go on with the one they started with. Listener
   * changes need a restart.
   */
  reload(config: ProxyConfig): void;
  /**
   * Stops accepting, says goodbye to every session, waits a bounded time (`graceMs`, then
   * sessions are cut; an SMTP message already sent to Exchange still gets its verdict).
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Starts one server per configured listener. Accepting a connection does nothing but create
 * the session object: no DNS, no upstream dial, no token request happens on the accept path,
 * and an error in one connection stays in that connection.
 */
export async function startProxy(config: ProxyConfig, log: Logger, metrics = new Metrics()): Promise<RunningProxy> {
  let context = createProxyContext(config, log, metrics);
  checkCertificates(config, log, metrics);
  // A proxy may run for years: look again every day.
  const certificateTimer = setInterval(() => checkCertificates(context.config, log, metrics), 86_400_000).unref();
  let secureContext = localSecureContext(config);
  const servers: { server: Server; close: (graceMs: number) => Promise<void> }[] = [];
  const smtpFronts: ReturnType<typeof createSmtpFront>[] = [];
  const acceptors: Acceptor[] = [];
  const sessions = new Map<Socket, { shutdown(): void; abort(): void }>();
  let openFiles: OpenFilesBudget | undefined;
  const admission = new Admission(admissionLimits(config, undefined));
  const refuser = new Refuser();
  const refusals = new RefusalLog(log, metrics);
  let active = 0;
  const counter = (protocol: string) => (delta: 1 | -1) => {
    active += delta;
    if (delta === 1) metrics.sessionOpened(protocol);
    else metrics.sessionClosed(protocol);
  };
  const acceptorFor = (listener: ListenerConfig, deliver: AcceptorOptions['deliver']) => {
    const acceptor = new Acceptor({ listener, admission, refuser, refusals, log, secureContext: () => secureContext, deliver });
    acceptors.push(acceptor);
    return acceptor;
  };

  const bound: BoundListener[] = [];
  try {
    for (const listener of config.listeners) {
      const count = counter(listener.protocol);
      if (listener.protocol === 'smtp') {
        const clientSockets = new ClientSockets();
        const smtp = createSmtpFront(() => context, listener, log, count, clientSockets);
        // smtp-server reports each client connection's errors (resets, failed TLS handshakes) on
        // the server object; binding errors surface in listen() below. Like the IMAP and POP3
        // listeners' TLS client errors, these are the client's business: debug level. Running
        // out of file descriptors is the operator's.
        smtp.on('error', (error: NodeJS.ErrnoException) => {
          if (isOutOfDescriptors(error)) reportOutOfDescriptors(error, listener.protocol, log, metrics);
          else log.debug({ event: 'client.error', proto: 'smtp', code: error.code, cause: error.message }, 'SMTP client connection error');
        });
        // smtp-server keeps its listening server (its close() waits on it) but the connections
        // take our accept path, and reach it through connect() with the real client's address.
        const acceptor = acceptorFor(listener, (socket, raw, client, release) => {
          const id = newSessionId();
          clientSockets.add(id, raw, release);
          smtp.connect(socket, { id, remoteAddress: client.address, remotePort: client.port });
        });
        smtp.server.removeAllListeners('connection');
        smtp.server.on('connection', acceptor.accept);
        const server = await listen(listener, (onListening) => smtp.listen(listener.port, listener.host, LISTEN_BACKLOG, onListening));
        servers.push({ server, close: (graceMs) => smtp.shutdown(graceMs) });
        smtpFronts.push(smtp);
        bound.push(announce(listener, server, log));
        continue;
      }
      const Front = listener.protocol === 'imap' ? ImapFront : Pop3Front;
      const acceptor = acceptorFor(listener, (socket, _raw, client) => {
        count(1);
        let closed = false;
        const env: SessionEnv = {
          ctx: context,
          listener,
          ...(secureContext ? { secureContext } : {}),
          log: log.child({ sid: newSessionId(), proto: listener.protocol, client: describeClient(client) }),
          clientAddress: client.address,
          onClose: () => {
            if (closed) return;
            closed = true;
            sessions.delete(socket);
            count(-1);
          },
        };
        try {
          sessions.set(socket, new Front(socket, env));
        } catch (error) {
          env.log.error({ event: 'session.error', cause: (error as Error).message }, 'session failed to start');
          socket.destroy();
          env.onClose!();
        }
      });
      const server = createNetServer(acceptor.accept);
      server.on('error', (error: NodeJS.ErrnoException) => {
        if (isOutOfDescriptors(error)) reportOutOfDescriptors(error, listener.protocol, log, metrics);
        else log.error({ event: 'listener.error', cause: error.message }, 'listener error');
      });
      await listen(listener, (onListening) => server.listen({ port: listener.port, host: listener.host, backlog: LISTEN_BACKLOG }, onListening));
      servers.push({ server, close: () => new Promise((resolve) => server.close(() => resolve())) });
      bound.push(announce(listener, server, log));
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.close(0)));
    throw error;
  }
  // Measured with the listeners bound: what is open now is what the proxy needs besides sessions.
  openFiles = readOpenFilesBudget();
  admission.limits = admissionLimits(config, openFiles);
  announceOpenFiles(openFiles, config, log);

  return {
    listeners: bound,
    metrics,
    context: () => context,
    activeSessions: () => active,
    openConnections: () => admission.open,
    reload(next) {
      if (JSON.stringify(next.listeners) !== JSON.stringify(config.listeners)) {
        log.warn({ event: 'reload.listeners-unchanged' }, 'listener changes take effect after a restart; the other settings are applied');
      }
      context = createProxyContext(next, log, metrics, context);
      secureContext = localSecureContext(next);
      admission.limits = admissionLimits(next, openFiles);
      if (next.tls) for (const smtp of smtpFronts) smtp.updateSecureContext({ cert: next.tls.cert, key: next.tls.key.reveal() });
      log.info({ event: 'reload', apps: next.apps.size, accounts: next.accounts.size }, 'configuration reloaded');
      checkCertificates(next, log, metrics);
    },
    async close(graceMs = SHUTDOWN_GRACE_MS) {
      clearInterval(certificateTimer);
      const stopped = Promise.all(servers.map((s) => s.close(graceMs)));
      for (const acceptor of acceptors) acceptor.destroyUnfinished();
      refuser.destroyAll();
      refusals.flush();
      for (const session of sessions.values()) session.shutdown();
      const deadline = setTimeout(() => {
        for (const session of sessions.values()) session.abort();
      }, graceMs);
      await stopped;
      // Sessions leave the map as their sockets close; do not wait past the grace period
      // for one whose socket was cut in the middle of a TLS upgrade.
      const giveUp = Date.now() + graceMs + 1000;
      while (sessions.size > 0 && Date.now() < giveUp) await new Promise((resolve) => setTimeout(resolve, 20));
      clearTimeout(deadline);
    },
  };
}

function admissionLimits(config: ProxyConfig, openFiles: OpenFilesBudget | undefined): AdmissionLimits {
  const { maxConnections, maxConnectionsPerAddress } = config.clients;
  return { maxConnections, maxConnectionsPerAddress, openFiles: openFiles?.sessions ?? Infinity };
}

/** Exposes each certificate's expiry as a metric, and warns from RENEW_WITHIN_DAYS before it. */
function checkCertificates(config: ProxyConfig, log: Logger, metrics: Metrics): void {
  metrics.certificateExpiry.values.clear();
  for (const certificate of certificateValidities(config)) {
    metrics.certificateExpiry.set({ certificate: certificate.key }, Math.floor(certificate.validTo.getTime() / 1000));
    if (certificate.daysLeft < RENEW_WITHIN_DAYS) {
      log.warn({ event: 'certificate.expiring', certificate: certificate.key, validTo: certificate.validTo.toISOString(), daysLeft: certificate.daysLeft, fix: certificate.renew }, describeValidity(certificate));
    }
  }
}

function localSecureContext(config: ProxyConfig): SecureContext | undefined {
  return config.tls ? createSecureContext({ cert: config.tls.cert, key: config.tls.key.reveal() }) : undefined;
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
