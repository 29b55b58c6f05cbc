import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSelfSignedCertificate } from '../ops/self-signed-certificate.js';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../ops/log.js';
import { hashPassword } from '../config/password-hash.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { Secret } from '../config/secret.js';
import { startProxy } from '../listen/proxy.js';
import { stopOnSignals, UsageError, type LogFlags } from './commands.js';
import { demoSettings } from './demo-settings.js';

export const DEMO_USER = 'demo';
export const DEMO_PASSWORD = 'demo-password';
export const DEMO_MAILBOX = 'demo@contoso.test';
/** An SMTP-only account that sends through (the fake) Microsoft Graph, as a tenant with SMTP AUTH disabled needs. */
export const DEMO_GRAPH_USER = 'scanner';
export const DEMO_GRAPH_PASSWORD = 'scanner-password';
export const DEMO_GRAPH_MAILBOX = 'scans@contoso.test';

/**
 * Ports are the base (--port-base, 1000 by default) plus the well-known port of each kind,
 * so 1143 stands for 143 and 1993 for 993. IMAP and POP3 have no well-known port of their own
 * for STARTTLS apart from the plain one, so theirs sit one above it (1144, 1111).
 */
export const DEFAULT_PORT_BASE = 1000;
export const DEMO_LISTENERS = [
  { protocol: 'imap', offset: 143, tls: 'none' },
  { protocol: 'imap', offset: 144, tls: 'starttls' },
  { protocol: 'imap', offset: 993, tls: 'implicit' },
  { protocol: 'pop3', offset: 110, tls: 'none' },
  { protocol: 'pop3', offset: 111, tls: 'starttls' },
  { protocol: 'pop3', offset: 995, tls: 'implicit' },
  { protocol: 'smtp', offset: 25, tls: 'none' },
  { protocol: 'smtp', offset: 587, tls: 'starttls' },
  { protocol: 'smtp', offset: 465, tls: 'implicit' },
] as const;
const HIGHEST_OFFSET = Math.max(...DEMO_LISTENERS.map((l) => l.offset));
const LOWEST_OFFSET = Math.min(...DEMO_LISTENERS.map((l) => l.offset));

export function parsePortBase(text: string | undefined): number {
  if (text === undefined) return DEFAULT_PORT_BASE;
  const base = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(base <= 65_535 - HIGHEST_OFFSET)) throw new UsageError(`--port-base must be a whole number from 0 to ${65_535 - HIGHEST_OFFSET} (the demo listens on N+${LOWEST_OFFSET} to N+${HIGHEST_OFFSET})`);
  return base;
}

function welcomeMessage(n: number): Buffer {
  return Buffer.from(
    [
      'From: Contoso Billing <billing@contoso.test>',
      `To: ${DEMO_MAILBOX}`,
      `Subject: Invoice ${1000 + n}`,
      `Date: ${new Date(Date.UTC(2026, 10, n)).toUTCString()}`,
      `Message-ID: <invoice-${n}@contoso.test>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Hello, this is invoice ${1000 + n}, delivered through o365-mail-proxy.`,
      '',
    ].join('\r\n'),
  );
}

/**
 * Runs the local stand-in for Entra ID and Exchange Online, writes an ordinary config file
 * pointing the proxy at it (loaded through the same path as any config), starts the proxy
 * and prints what to type into a mail client.
 */
export async function demoCommand(flags: LogFlags, portBaseText?: string): Promise<void> {
  const portBase = parsePortBase(portBaseText);
  const dir = demoDirectory();
  const sandbox = await startSandbox();
  const configFile = await writeDemoConfig(dir, sandbox, portBase);
  const loaded = loadConfig(configFile);
  const log = createLogger({ level: flags.level ?? loaded.log.level, format: flags.format ?? loaded.log.format });
  let proxy;
  try {
    proxy = await startProxy(loaded, log);
  } catch (error) {
    await sandbox.close();
    throw portTakenAdvice(error as Error) ?? error;
  }
  // Let the startup log lines out first, so the settings stand together below them.
  await new Promise<void>((resolve) => log.flush(() => resolve()));
  const graph = { user: DEMO_GRAPH_USER, password: DEMO_GRAPH_PASSWORD, mailbox: DEMO_GRAPH_MAILBOX };
  process.stderr.write(demoSettings({ user: DEMO_USER, password: DEMO_PASSWORD, mailbox: DEMO_MAILBOX, graph, dir, listeners: proxy.listeners, logLevel: flags.level ?? loaded.log.level }));
  stopOnSignals(proxy, log, () => sandbox.close());
  // A closed terminal (SIGHUP) stops the demo the way Ctrl-C does, so its directory goes too.
  process.on('SIGHUP', () => process.kill(process.pid, 'SIGTERM'));
}

/**
 * The demo's files (a client secret, a private key) live in a private temporary directory that
 * goes with the process however it ends: Ctrl-C and SIGTERM end in process.exit, and so does a
 * failed start. Only SIGKILL leaves it behind.
 */
function demoDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'o365-mail-proxy-demo-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function writeDemoConfig(dir: string, sandbox: Sandbox, portBase: number): Promise<string> {
  const app = sandbox.registerApp({ graphRoles: ['Mail.Send', 'Mail.ReadWrite'] });
  sandbox.addMailbox(DEMO_MAILBOX, [1, 2, 3].map(welcomeMessage));
  sandbox.addMailbox(DEMO_GRAPH_MAILBOX);
  sandbox.grantFullAccess(DEMO_MAILBOX, app.objectId);
  const { certPem, keyPem } = await generateSelfSignedCertificate();
  writeFileSync(join(dir, 'localhost.crt'), certPem);
  writeFileSync(join(dir, 'localhost.key'), keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'sandbox-ca.pem'), sandbox.caPem);
  writeFileSync(join(dir, 'client-secret.txt'), `${app.clientSecret}\n`, { mode: 0o600 });
  const config = {
    apps: {
      contoso: { tenantId: sandbox.tenantId, clientId: app.clientId, clientSecret: '${file:client-secret.txt}', authorityHost: sandbox.authorityHost },
    },
    accounts: {
      [DEMO_USER]: { passwordHash: await hashPassword(new Secret(DEMO_PASSWORD)), mailbox: DEMO_MAILBOX, app: 'contoso' },
      [DEMO_GRAPH_USER]: { passwordHash: await hashPassword(new Secret(DEMO_GRAPH_PASSWORD)), mailbox: DEMO_GRAPH_MAILBOX, app: 'contoso', protocols: ['smtp'], smtpVia: 'graph' },
    },
    listeners: DEMO_LISTENERS.map(({ protocol, offset, tls }) => ({ protocol, host: '127.0.0.1', port: portBase + offset, tls })),
    tls: { certFile: 'localhost.crt', keyFile: 'localhost.key' },
    upstream: { imap: sandbox.imap, pop3: sandbox.pop3, smtp: sandbox.smtp, graph: { url: sandbox.graphUrl }, caFile: 'sandbox-ca.pem' },
    // Warnings only: every session logs several lines at info, which would scroll the client
    // settings off the screen after a few tries. --log-level info shows them.
    log: { level: 'warn' },
  };
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  return configFile;
}

/** A port clash, worded for the demo: its ports come from --port-base, not from a config file. */
function portTakenAdvice(error: Error): Error | undefined {
  const cause = error.cause as NodeJS.ErrnoException & { address?: string; port?: number } | undefined;
  if (cause?.code !== 'EADDRINUSE') return undefined;
  return new Error(
    `port ${cause.address ?? '127.0.0.1'}:${cause.port} is already in use (is another demo running?). ` +
      `Choose other ports with --port-base N: the demo listens on N+${LOWEST_OFFSET} to N+${HIGHEST_OFFSET} (N is ${DEFAULT_PORT_BASE} by default), ` +
      'e.g. "npm run demo -- --port-base 20000"',
  );
}
