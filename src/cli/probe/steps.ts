import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { ListenerConfig } from '../../config/types.js';
import { isTrusted, trustedSources } from '../../listen/proxy-reader.js';
import { ProbeConnection, StepFailure } from './connection.js';

/** One step of a login: its name, and what it does; resolves to what to report, or throws StepFailure. */
export interface Step {
  name: string;
  run(): Promise<string>;
}

export interface StepResult {
  name: string;
  ok: boolean;
  detail: string;
  ms: number;
}

export const TIMEOUT_MS = 15_000;
/** A login may wait for a token and for Exchange: longer than any other step. */
export const LOGIN_TIMEOUT_MS = 60_000;

/** What a protocol's steps share: where to go, with what, and the connection once it is open. */
export interface ProbeSession {
  listener: ListenerConfig;
  username: string;
  password: Buffer;
  /** The certificate the config says the listeners serve (PEM), to compare with the one served. */
  localCertificate?: string;
  connection?: ProbeConnection;
}

/** Runs the steps in order, reporting each; stops at the first failure. True when all passed. */
export async function runSteps(steps: Step[], report: (result: StepResult) => void): Promise<boolean> {
  for (const step of steps) {
    const started = Date.now();
    try {
      const detail = await step.run();
      report({ name: step.name, ok: true, detail, ms: Date.now() - started });
    } catch (error) {
      const detail = error instanceof StepFailure ? error.message : `unexpected: ${(error as Error).message}`;
      report({ name: step.name, ok: false, detail, ms: Date.now() - started });
      return false;
    }
  }
  return true;
}

export function connection(session: ProbeSession): ProbeConnection {
  if (!session.connection) throw new StepFailure('not connected');
  return session.connection;
}

/** Where a listener is reached from this machine: a wildcard address means loopback. */
export function dialHost(listener: ListenerConfig): string {
  if (listener.host === '0.0.0.0') return '127.0.0.1';
  if (listener.host === '::') return '::1';
  return listener.host;
}

/** connect, and TLS at once on an implicit-TLS listener. */
export function connectSteps(session: ProbeSession): Step[] {
  const { listener } = session;
  const steps: Step[] = [{
    name: 'connect',
    async run() {
      session.connection = await ProbeConnection.open(dialHost(listener), listener.port, TIMEOUT_MS);
      return `${dialHost(listener)}:${listener.port}${sendProxyHeaderIfTrusted(session)}`;
    },
  }];
  if (listener.tls === 'implicit') steps.push(tlsStep(session, 'TLS'));
  return steps;
}

/**
 * A listener behind a load balancer wants a PROXY header from the balancer's addresses. If
 * this machine is one of them, a v1 "UNKNOWN" header says "no client address to pass on", and
 * the proxy keeps the connection's own address.
 */
function sendProxyHeaderIfTrusted(session: ProbeSession): string {
  const list = session.listener.proxyProtocol;
  const socket = connection(session).socket;
  if (!list || !socket.localAddress || !isTrusted(trustedSources(list), socket.localAddress)) return '';
  connection(session).write('PROXY UNKNOWN\r\n');
  return ', sent a PROXY header (this address is listed in proxyProtocol)';
}

export function tlsStep(session: ProbeSession, name: string): Step {
  return {
    name,
    async run() {
      const secure = await connection(session).startTls(TIMEOUT_MS);
      return describeTls(secure, session.localCertificate);
    },
  };
}

/** TLS version and the certificate served; fails for an expired one, which clients refuse. */
function describeTls(secure: TLSSocket, configured: string | undefined): string {
  const served = secure.getPeerX509Certificate();
  if (!served) return `${secure.getProtocol()}, no certificate`;
  const subject = /CN=([^\n]+)/.exec(served.subject)?.[1] ?? served.subject;
  const validTo = new Date(served.validTo);
  if (validTo.getTime() < Date.now()) throw new StepFailure(`the certificate for ${subject} expired on ${validTo.toISOString().slice(0, 10)}; clients that check certificates refuse it. Fix: o365-mail-proxy gen-cert --force, then reload the proxy`);
  return `${secure.getProtocol()}, certificate for ${subject} valid until ${validTo.toISOString().slice(0, 10)}${compareWithConfigured(served, configured)}`;
}

function compareWithConfigured(served: X509Certificate, configured: string | undefined): string {
  let fingerprint: string;
  try {
    if (!configured) return '';
    fingerprint = new X509Certificate(configured).fingerprint256;
  } catch {
    return '';
  }
  return fingerprint === served.fingerprint256 ? ', the one in tls.certFile' : ', not the one in tls.certFile now (reload or restart the proxy after replacing it)';
}

/** Refuses a password no line-based login can carry, before anything is sent. */
export function assertSendable(password: Buffer, protocol: string): void {
  if (password.includes(0x0d) || password.includes(0x0a)) throw new StepFailure(`a password with a line break cannot be sent over ${protocol}`);
}
