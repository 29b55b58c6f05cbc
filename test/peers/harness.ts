import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generateSelfSignedCertificate } from '../../src/ops/self-signed-certificate.js';
import { validateConfig } from '../../src/config/validate.js';
import type { Protocol, TlsMode } from '../../src/config/types.js';
import { createLogger } from '../../src/ops/log.js';
import { hashPassword } from '../../src/config/password-hash.js';
import { Secret } from '../../src/config/secret.js';
import { startProxy, type RunningProxy } from '../../src/listen/proxy.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { freePort, logCapture } from '../helpers/net.js';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('./mail-servers.sh', import.meta.url));

export const USER = 'talend';
/** Spaces, quotes, a backslash and non-ASCII: what breaks naive parsers and config files. */
export const PASSWORD = 'Ünïcode "quoted" back\\slash pass';
export const MAILBOX = 'invoices@contoso.test';
/** Where the sending tests deliver, so the reading tests always see the seeded messages only. */
export const OUTBOX = 'ap@contoso.test';

export interface Peers {
  /** The proxy in front of Dovecot and Postfix, with its fake Entra for tokens. */
  proxy: RunningProxy;
  sandbox: Sandbox;
  workdir: string;
  /** PEM file of the proxy's local certificate, and a PKCS12 trust store holding it (Java). */
  localCaFile: string;
  trustStore: string;
  port(protocol: Protocol, tls: TlsMode): number;
  /** Raw messages seeded into the mailbox, in order. */
  seeded: Buffer[];
  /** Waits until a message with this subject is in the mailbox that tests send to; returns its raw bytes. */
  delivered(subject: string, timeoutMs?: number): Promise<Buffer | undefined>;
  logs: string[];
  close(): Promise<void>;
}

/** A 20 MiB message of base64 lines, as a big attachment would be. */
export function largeMessage(): Buffer {
  const line = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n';
  const body = line.repeat(Math.ceil((20 * 1024 * 1024) / line.length));
  return Buffer.from(`From: Archive <archive@contoso.test>\r\nTo: ${MAILBOX}\r\nSubject: Twenty MiB scan\r\nMessage-ID: <big@contoso.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n${body}`);
}

export function seedMessages(): Buffer[] {
  return [
    Buffer.from(`From: Billing <billing@contoso.test>\r\nTo: ${MAILBOX}\r\nSubject: Invoice 4711\r\nMessage-ID: <invoice-4711@contoso.test>\r\n\r\nPlease pay invoice 4711.\r\n.a line starting with a dot\r\n`),
    // Raw 8-bit UTF-8 in headers and body, as many real mailers send (RFC 6532 style).
    Buffer.from(`From: Jürgen Müller <juergen@contoso.test>\r\nTo: ${MAILBOX}\r\nSubject: Größe – Änderung ✓\r\nMessage-ID: <umlaut@contoso.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln, 日本語も大丈夫。\r\n`, 'utf8'),
    largeMessage(),
  ];
}

export async function startPeers(): Promise<Peers> {
  const sandbox = await startSandbox();
  const app = sandbox.registerApp({});
  const workdir = mkdtempSync(join(tmpdir(), 'o365p-peers-'));
  chmodSync(workdir, 0o755);
  const [imaps, pop3s, smtp] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(join(workdir, 'entra-key.pem'), sandbox.tokenSigning.publicKeyPem);
  const env = {
    ...process.env,
    PEER_IMAPS_PORT: String(imaps), PEER_POP3S_PORT: String(pop3s), PEER_SMTP_PORT: String(smtp),
    PEER_JWT_KEY: join(workdir, 'entra-key.pem'), PEER_JWT_KID: sandbox.tokenSigning.kid,
    PEER_JWT_ISSUER: sandbox.tokenSigning.issuer, PEER_JWT_AUDIENCE: sandbox.tokenSigning.audience,
  };
  await run('bash', [SCRIPT, 'up', workdir], { env, timeout: 60_000 });
  const doveconf = join(workdir, 'etc', 'dovecot.conf');

  const seeded = seedMessages();
  for (const message of seeded) await doveadm(doveconf, ['save', '-u', MAILBOX, '-m', 'INBOX'], message);

  // The proxy trusts the fake Entra's certificate and Dovecot/Postfix's, nothing else added.
  writeFileSync(join(workdir, 'upstream-ca.pem'), `${sandbox.caPem}\n${readFileSync(join(workdir, 'tls', 'cert.pem'), 'utf8')}`);
  const local = await generateSelfSignedCertificate();
  writeFileSync(join(workdir, 'local.crt'), local.certPem);
  writeFileSync(join(workdir, 'local.key'), local.keyPem);
  const trustStore = join(workdir, 'local-trust.p12');
  await run('keytool', ['-importcert', '-noprompt', '-alias', 'o365-mail-proxy', '-file', join(workdir, 'local.crt'), '-keystore', trustStore, '-storetype', 'PKCS12', '-storepass', 'changeit']);

  const modes: TlsMode[] = ['none', 'starttls', 'implicit'];
  const config = validateConfig({
    apps: { contoso: { tenantId: sandbox.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, authorityHost: sandbox.authorityHost } },
    accounts: { [USER]: { passwordHash: await hashPassword(new Secret(PASSWORD)), mailbox: MAILBOX, app: 'contoso' } },
    listeners: (['imap', 'pop3', 'smtp'] as const).flatMap((protocol) => modes.map((tls) => ({ protocol, port: 0, tls }))),
    tls: { certFile: 'local.crt', keyFile: 'local.key' },
    upstream: {
      imap: { host: '127.0.0.1', port: imaps }, pop3: { host: '127.0.0.1', port: pop3s }, smtp: { host: '127.0.0.1', port: smtp },
      caFile: 'upstream-ca.pem',
    },
  }, workdir);
  const logs: string[] = [];
  const proxy = await startProxy(config, createLogger({ level: 'info', format: 'json', destination: logCapture(logs) }));

  return {
    proxy, sandbox, workdir, logs, seeded, trustStore,
    localCaFile: join(workdir, 'local.crt'),
    port: (protocol, tls) => proxy.listeners.find((l) => l.protocol === protocol && l.tls === tls)!.port,
    async delivered(subject, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const found = await doveadm(doveconf, ['fetch', '-u', OUTBOX, 'text', 'mailbox', 'INBOX', 'header', 'Subject', subject]).catch(() => '');
        if (found.trim()) return Buffer.from(found.replace(/^text:\n/, ''), 'utf8');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return undefined;
    },
    async close() {
      await proxy.close();
      await sandbox.close();
      await run('bash', [SCRIPT, 'down', workdir], { timeout: 30_000 }).catch(() => undefined);
      rmSync(workdir, { recursive: true, force: true });
    },
  };
}

function doveadm(config: string, args: string[], input?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('doveadm', ['-c', config, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`doveadm ${args[0]}: ${err}`))));
    child.stdin.end(input);
  });
}
