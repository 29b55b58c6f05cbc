import type { Logger } from 'pino';
import { DescriptorReserve } from '../ops/descriptor-reserve.js';
import type { Metrics } from '../ops/metrics.js';
import { AccountDirectory } from './accounts.js';
import { FailedLoginLimiter, type LoginLimiter } from './lockout.js';
import { PasswordCheckQueue } from './password-check-queue.js';
import type { ProxyConfig } from '../config/types.js';
import { tokenOptions } from '../tokens/options.js';
import { createGraphTokenProviders, createTokenProviders, type TokenProvider } from '../tokens/provider.js';
import { createDelegatedSignIns } from '../tokens/delegated-registry.js';
import type { DelegatedSignIn } from '../tokens/delegated-signin.js';
import type { GraphClient } from '../upstream/graph/client.js';
import { createGraphClient } from '../upstream/graph/create.js';
import { UpstreamConnector } from '../upstream/connector.js';
import { connectorOptions } from '../upstream/options.js';
import { MailboxGate, type GateLimits, type SessionGate } from '../upstream/mailbox-gate.js';

/** What every session needs from the running proxy, built once from the config. */
export interface ProxyContext {
  config: ProxyConfig;
  accounts: AccountDirectory;
  /** Starts empty on a reload: fixing a password and reloading also lifts its lockouts. */
  failedLogins: LoginLimiter;
  tokens: ReadonlyMap<string, TokenProvider>;
  /** Delegated accounts' sign-ins, by lower-cased username; carried over a reload where unchanged. */
  signIns: ReadonlyMap<string, DelegatedSignIn>;
  /** Microsoft Graph tokens per app (apps.<name>.graphScope), for accounts that send through Graph. */
  graphTokens: ReadonlyMap<string, TokenProvider>;
  /** Sending through Graph; its per-mailbox request lanes are carried over on a reload. */
  graph: GraphClient;
  /**
   * Usernames of smtpVia "auto" accounts that Exchange told SMTP AUTH is disabled: they send
   * through Graph from then on (kept across reloads; a restart tries SMTP AUTH again).
   */
  smtpAuthDisabled: Set<string>;
  connector: UpstreamConnector;
  /**
   * Upstream sessions per mailbox and Exchange's backoffs. Carried over on a reload (with the
   * new limits): the sessions it counts outlive the context they started with.
   */
  mailboxGate: SessionGate;
  /**
   * Descriptors beyond two per connection, for logins in progress and upstream connections
   * outliving their client (sized by the open-files budget). Carried over on a reload.
   */
  descriptors: DescriptorReserve;
  log: Logger;
  /** Lives across config reloads. */
  metrics: Metrics;
}

/**
 * Where the counts that protect the whole instance live when they are not this process's own:
 * a worker of several gets them from its primary (listen/cluster/).
 */
export interface SharedLimits {
  /** The lockout of this config (a new one starts empty, as a reload does). */
  failedLogins(config: ProxyConfig): LoginLimiter;
  mailboxGate: SessionGate;
  /** The instance's key for credential fingerprints and hashed usernames (accounts.ts). */
  credentialKey: Buffer;
}

/** `previous`: the context a reload replaces, whose session counts go on. */
export function createProxyContext(config: ProxyConfig, log: Logger, metrics: Metrics, previous?: ProxyContext, shared?: SharedLimits): ProxyContext {
  const mailboxGate = previous?.mailboxGate ?? shared?.mailboxGate ?? new MailboxGate(gateLimits(config), metrics);
  if (previous) mailboxGate.reconfigure(gateLimits(config));
  return {
    config,
    accounts: new AccountDirectory(config.accounts, passwordChecks(config), shared?.credentialKey),
    failedLogins: shared?.failedLogins(config) ?? new FailedLoginLimiter(config.clients.maxFailedLogins, config.clients.failedLoginWindowMs),
    tokens: createTokenProviders(config.apps, tokenOptions(config, log, metrics)),
    signIns: createDelegatedSignIns(config, log, metrics, previous?.signIns),
    graphTokens: createGraphTokenProviders(config.apps, tokenOptions(config, log, metrics)),
    graph: createGraphClient(config, metrics, previous?.graph.lanes),
    smtpAuthDisabled: previous?.smtpAuthDisabled ?? new Set(),
    connector: new UpstreamConnector(connectorOptions(config, metrics)),
    mailboxGate,
    descriptors: previous?.descriptors ?? new DescriptorReserve(),
    log,
    metrics,
  };
}

/**
 * Two scrypt runs at a time leave two of libuv's four threads to DNS lookups and file reads.
 * One client address may fill a quarter of the queue, so a guesser cannot fill it alone.
 */
function passwordChecks(config: ProxyConfig): PasswordCheckQueue {
  const { maxQueuedPasswordChecks } = config.clients;
  return new PasswordCheckQueue(2, maxQueuedPasswordChecks, Math.max(1, Math.floor(maxQueuedPasswordChecks / 4)));
}

export function gateLimits(config: ProxyConfig): GateLimits {
  const { maxSessionsPerMailbox, sessionWaitMs, maxWaitingPerMailbox } = config.upstream;
  return { maxSessions: maxSessionsPerMailbox, waitMs: sessionWaitMs, maxWaiting: maxWaitingPerMailbox };
}

