import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { vi } from 'vitest';
import { generateSelfSignedCertificate, type GeneratedCertificate } from '../../src/ops/self-signed-certificate.js';
import { validateConfig } from '../../src/config/validate.js';
import type { Protocol, TlsMode } from '../../src/config/types.js';
import { createLogger } from '../../src/ops/log.js';
import { hashPassword } from '../../src/config/password-hash.js';
import { Secret } from '../../src/config/secret.js';
import { startProxy, type RunningProxy } from '../../src/listen/proxy.js';
import { startSandbox, type Sandbox, type SandboxApp, type SandboxOptions } from '../../src/sandbox/index.js';
import { FAST_HASH_PARAMS, tempDir } from './config.js';
import { logCapture } from './net.js';

export const USER = 'talend';
/** Spaces, quotes, backslashes and non-ASCII: what breaks naive parsers. */
export const PASSWORD = 'p ä"ss\\wörd ';
export const MAILBOX = 'invoices@contoso.test';

let localCert: Promise<GeneratedCertificate> | undefined;

export interface StackOptions {
  sandbox?: SandboxOptions;
  app?: Partial<SandboxApp>;
  /** Grant the app FullAccess on the mailbox (default true). */
  grant?: boolean;
  messages?: Buffer[];
  /** Overrides merged into the generated config (e.g. tokens, upstream). */
  config?: Record<string, unknown>;
  /** The client secret put into the config (default: the app's real one). */
  clientSecret?: string;
  /** Leave the client secret out of the config (for certificate credentials). */
  omitSecret?: boolean;
  logLevel?: 'info' | 'trace';
  /** More CA certificates (PEM) for the upstream, trusted beside the sandbox's. */
  extraUpstreamCa?: string;
  /** The account's accounts.<u>.smtpVia, with upstream.graph.url pointed at the sandbox. */
  smtpVia?: 'smtp' | 'graph' | 'auto';
}

export interface Stack {
  sandbox: Sandbox;
  app: SandboxApp;
  proxy: RunningProxy;
  /** The proxy's listening port for a protocol and local TLS mode. */
  port(protocol: Protocol, tls?: TlsMode): number;
  /** PEM of the proxy's local certificate, for clients to trust, and a file holding it (for curl). */
  localCa: string;
  localCaFile: string;
  /** Every log line the proxy wrote. */
  logs: string[];
  close(): Promise<void>;
}

export function sampleMessage(subject: string, body = 'Hello from the sandbox.\r\n'): Buffer {
  return Buffer.from(`From: billing@contoso.test\r\nTo: ${MAILBOX}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@contoso.test>\r\n\r\n${body}`);
}

/** Sandbox + proxy with one account, listening on port 0 for every protocol and TLS mode. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const sandbox = await startSandbox(options.sandbox);
  const app = sandbox.registerApp(options.app ?? {});
  sandbox.addMailbox(MAILBOX, options.messages ?? [sampleMessage('First'), sampleMessage('Second')]);
  if (options.grant !== false) sandbox.grantFullAccess(MAILBOX, app.objectId);

  localCert ??= generateSelfSignedCertificate();
  const cert = await localCert;
  const dir = tempDir({ 'local.crt': cert.certPem, 'local.key': cert.keyPem, 'sandbox-ca.pem': `${sandbox.caPem}\n${options.extraUpstreamCa ?? ''}` });
  const modes: TlsMode[] = ['none', 'starttls', 'implicit'];
  const protocols: Protocol[] = ['imap', 'pop3', 'smtp'];
  const raw = {
    apps: {
      contoso: {
        tenantId: sandbox.tenantId,
        clientId: app.clientId,
        authorityHost: sandbox.authorityHost,
        ...(options.omitSecret ? {} : { clientSecret: options.clientSecret ?? app.clientSecret }),
      },
    },
    accounts: { [USER]: { passwordHash: await hashPassword(new Secret(PASSWORD), FAST_HASH_PARAMS), mailbox: MAILBOX, app: 'contoso' } },
    listeners: protocols.flatMap((protocol) => modes.map((tls) => ({ protocol, port: 0, tls }))),
    tls: { certFile: 'local.crt', keyFile: 'local.key' },
    upstream: { imap: sandbox.imap, pop3: sandbox.pop3, smtp: sandbox.smtp, caFile: 'sandbox-ca.pem', connectTimeoutMs: 2000, tlsTimeoutMs: 2000, loginTimeoutMs: 5000 },
    tokens: { requestTimeoutMs: 3000 },
  };
  if (options.smtpVia) {
    merge(raw, { accounts: { [USER]: { smtpVia: options.smtpVia } }, upstream: { graph: { url: sandbox.graphUrl } } });
  }
  // Overrides replace single settings (e.g. upstream.imap.port), not whole sections.
  merge(raw, options.config ?? {});
  const config = validateConfig(raw, dir);
  const logs: string[] = [];
  const log = createLogger({ level: options.logLevel ?? 'info', format: 'json', destination: logCapture(logs) });
  const proxy = await startProxy(config, log);
  return {
    sandbox,
    app,
    proxy,
    localCa: cert.certPem,
    localCaFile: join(dir, 'local.crt'),
    logs,
    port(protocol, tls = 'none') {
      const listener = proxy.listeners.find((l) => l.protocol === protocol && l.tls === tls);
      if (!listener) throw new Error(`no ${protocol}/${tls} listener`);
      return listener.port;
    },
    async close() {
      await proxy.close();
      await sandbox.close();
    },
  };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function merge(target: Record<string, unknown>, overrides: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(overrides)) {
    const current = target[key];
    if (isObject(current) && isObject(value)) merge(current, value);
    else target[key] = value;
  }
}

const PYCLIENT = fileURLToPath(new URL('../clients/pyclient.py', import.meta.url));

/** Runs one of Python's standard-library mail clients against the proxy; returns what it saw. */
export function python<T = Record<string, any>>(stack: Stack, request: Record<string, unknown> & { client: Protocol; tls?: TlsMode }): Promise<T> {
  const tls = request.tls ?? 'none';
  const full = { host: '127.0.0.1', port: stack.port(request.client, tls), tls, ca: stack.localCa, user: USER, password: PASSWORD, ...request };
  return new Promise((resolve, reject) => {
    // The request goes on stdin: a message of tens of MiB does not fit on a command line.
    const child = execFile('python3', [PYCLIENT], { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`pyclient failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as T);
    });
    child.stdin!.end(JSON.stringify(full));
  });
}

/** Runs curl; returns stdout (binary-safe), stderr and the exit code. */
export async function curl(args: string[], input?: Buffer): Promise<{ stdout: Buffer; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const child = execFile('curl', ['--silent', '--show-error', '--max-time', '60', ...args], { encoding: 'buffer', maxBuffer: 128 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ stdout, stderr: stderr.toString('utf8'), code: error ? ((error as { code?: number }).code ?? 1) : 0 });
    });
    if (input) child.stdin!.end(input);
    else child.stdin!.end();
  });
}

/**
 * After a test's clients are gone: waits (up to `waitMs`) for the proxy to hold no session,
 * then reports what should be empty. The log lines of a session that never closed show
 * what it got before it stuck.
 */
export async function leftovers(stack: Stack, waitMs = 5_000): Promise<{ openSessions: unknown[]; active: number; errors: unknown[] }> {
  // Not met in time: the report below says what is left.
  await vi.waitFor(() => {
    if (stack.proxy.activeSessions() > 0) throw new Error('sessions still open');
  }, { timeout: waitMs, interval: 25 }).catch(() => undefined);
  const entries = stack.logs.map((line) => JSON.parse(line) as { sid?: string; event?: string; level: number });
  const closed = new Set(entries.filter((e) => e.event === 'close').map((e) => e.sid));
  return {
    openSessions: entries.filter((e) => e.sid && !closed.has(e.sid)),
    active: stack.proxy.activeSessions(),
    errors: entries.filter((e) => e.level >= 50),
  };
}
