import { createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { Admission, type AdmissionLimits, type ConnectionAdmission } from './admission.js';
import { announceOpenFiles, readOpenFilesBudget, type OpenFilesBudget } from '../ops/open-files.js';
import { RefusalLog } from './refusal-log.js';
import { Refuser } from './refuser.js';
import type { ProxyConfig } from '../config/types.js';
import { certificateValidities, describeValidity, RENEW_WITHIN_DAYS } from '../ops/certificate-expiry.js';
import { createProxyContext, type ProxyContext, type SharedLimits } from '../auth/context.js';
import { Metrics } from '../ops/metrics.js';
import { counted } from '../ops/words.js';
import { startListener, type BoundListener, type StartedListener } from './listeners.js';
import { SessionRegistry } from './sessions.js';

export type { BoundListener } from './listeners.js';

/** How long sessions get to close after a shutdown before they are cut. */
const SHUTDOWN_GRACE_MS = 5000;

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
 * A worker of several: the counts that protect the whole instance are the primary's
 * (listen/cluster/), asked through these. One process leaves it out and counts itself.
 */
export interface WorkerShare {
  limits: SharedLimits;
  admission(limits: AdmissionLimits): ConnectionAdmission;
}

/**
 * Starts one server per configured listener. Accepting a connection does nothing but create
 * the session object: no DNS, no upstream dial, no token request happens on the accept path,
 * and an error in one connection stays in that connection.
 */
export async function startProxy(config: ProxyConfig, log: Logger, metrics = new Metrics(), share?: WorkerShare): Promise<RunningProxy> {
  const registry = new SessionRegistry(createProxyContext(config, log, metrics, undefined, share?.limits));
  checkCertificates(config, log, metrics);
  // A proxy may run for years: look again every day.
  const certificateTimer = setInterval(() => checkCertificates(registry.context.config, log, metrics), 86_400_000).unref();
  let secureContext = localSecureContext(config);
  const admission: ConnectionAdmission = share ? share.admission(admissionLimits(config, undefined)) : new Admission(admissionLimits(config, undefined));
  const refuser = new Refuser();
  const refusals = new RefusalLog(log, metrics);
  const deps = { registry, admission, refuser, refusals, log, metrics, secureContext: () => secureContext };
  const listeners: StartedListener[] = [];
  try {
    for (const listener of config.listeners) listeners.push(await startListener(listener, deps));
  } catch (error) {
    await Promise.all(listeners.map((l) => l.close()));
    throw error;
  }
  // Measured with the listeners bound: what is open now is what the proxy needs besides sessions.
  const openFiles = readOpenFilesBudget();
  admission.limits = admissionLimits(config, openFiles);
  registry.context.descriptors.size = openFiles?.reserve ?? Infinity;
  announceOpenFiles(openFiles, config, log);

  return {
    listeners: listeners.map((l) => l.bound),
    metrics,
    context: () => registry.context,
    activeSessions: () => registry.size,
    openConnections: () => admission.open,
    reload(next) {
      if (JSON.stringify(next.listeners) !== JSON.stringify(config.listeners)) {
        log.warn({ event: 'reload.listeners-unchanged' }, 'listener changes take effect after a restart; the other settings are applied');
      }
      registry.context = createProxyContext(next, log, metrics, registry.context, share?.limits);
      secureContext = localSecureContext(next);
      admission.limits = admissionLimits(next, openFiles);
      for (const listener of listeners) listener.reload(next);
      log.info({ event: 'reload', apps: next.apps.size, accounts: next.accounts.size }, `configuration reloaded: ${counted(next.apps.size, 'app registration')}, ${counted(next.accounts.size, 'account')}`);
      checkCertificates(next, log, metrics);
    },
    async close(graceMs = SHUTDOWN_GRACE_MS) {
      clearInterval(certificateTimer);
      const stopped = Promise.all(listeners.map((l) => l.close()));
      for (const { acceptor } of listeners) acceptor.destroyUnfinished();
      refuser.destroyAll();
      refusals.flush();
      await registry.shutdown(graceMs, stopped);
    },
  };
}

function admissionLimits(config: ProxyConfig, openFiles: OpenFilesBudget | undefined): AdmissionLimits {
  const { maxConnections, maxConnectionsPerAddress } = config.clients;
  return { maxConnections, maxConnectionsPerAddress, openFiles: openFiles?.sessions ?? Infinity };
}

/** Exposes each certificate's expiry as a metric, and warns from RENEW_WITHIN_DAYS before it. */
function checkCertificates(config: ProxyConfig, log: Logger, metrics: Metrics): void {
  metrics.certificateExpiry.clear();
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
