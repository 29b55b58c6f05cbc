import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSelfSignedCertificate } from '../ops/self-signed-certificate.js';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../ops/log.js';
import { hashPassword } from '../config/password-hash.js';
import { startSandbox } from '../sandbox/index.js';
import { Secret } from '../config/secret.js';
import { startProxy } from '../listen/proxy.js';
import { stopOnSignals, type LogFlags } from './commands.js';

export const DEMO_USER = 'demo';
export const DEMO_PASSWORD = 'demo-password';
export const DEMO_MAILBOX = 'demo@contoso.test';

/** Ports chosen to sit next to the well-known ones (1143 for 143, ...), above 1023. */
export const DEMO_LISTENERS = [
  { protocol: 'imap', port: 1143, tls: 'none' },
  { protocol: 'imap', port: 1993, tls: 'implicit' },
  { protocol: 'pop3', port: 1110, tls: 'none' },
  { protocol: 'pop3', port: 1995, tls: 'implicit' },
  { protocol: 'smtp', port: 1587, tls: 'starttls' },
  { protocol: 'smtp', port: 1025, tls: 'none' },
] as const;

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
export async function demoCommand(flags: LogFlags): Promise<void> {
  const sandbox = await startSandbox();
  const app = sandbox.registerApp({});
  sandbox.addMailbox(DEMO_MAILBOX, [1, 2, 3].map(welcomeMessage));
  sandbox.grantFullAccess(DEMO_MAILBOX, app.objectId);

  const dir = mkdtempSync(join(tmpdir(), 'o365-mail-proxy-demo-'));
  const { certPem, keyPem } = await generateSelfSignedCertificate();
  writeFileSync(join(dir, 'localhost.crt'), certPem);
  writeFileSync(join(dir, 'localhost.key'), keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'sandbox-ca.pem'), sandbox.caPem);
  writeFileSync(join(dir, 'client-secret.txt'), `${app.clientSecret}\n`, { mode: 0o600 });
  const config = {
    apps: {
      contoso: {
        tenantId: sandbox.tenantId,
        clientId: app.clientId,
        clientSecret: '${file:client-secret.txt}',
        authorityHost: sandbox.authorityHost,
      },
    },
    accounts: {
      [DEMO_USER]: { passwordHash: await hashPassword(new Secret(DEMO_PASSWORD)), mailbox: DEMO_MAILBOX, app: 'contoso' },
    },
    listeners: DEMO_LISTENERS.map((l) => ({ ...l, host: '127.0.0.1' })),
    tls: { certFile: 'localhost.crt', keyFile: 'localhost.key' },
    upstream: { imap: sandbox.imap, pop3: sandbox.pop3, smtp: sandbox.smtp, caFile: 'sandbox-ca.pem' },
    log: { level: 'info' },
  };
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);

  const loaded = loadConfig(configFile);
  const log = createLogger({ level: flags.level ?? loaded.log.level, format: flags.format ?? loaded.log.format });
  let proxy;
  try {
    proxy = await startProxy(loaded, log);
  } catch (error) {
    await sandbox.close();
    throw error;
  }
  // Let the startup log lines out first, so the settings stand together below them.
  await new Promise<void>((resolve) => log.flush(() => resolve()));
  process.stderr.write(settingsText(configFile));
  stopOnSignals(proxy, log, () => sandbox.close());
}

function settingsText(configFile: string): string {
  return `
  o365-mail-proxy demo is running — nothing here talks to Microsoft.
  A fake Entra ID and a fake Exchange Online run on this machine; mailbox ${DEMO_MAILBOX} holds 3 messages.

  Username: ${DEMO_USER}
  Password: ${DEMO_PASSWORD}
  IMAP:  127.0.0.1:1143 (no TLS)     127.0.0.1:1993 (TLS, self-signed)
  POP3:  127.0.0.1:1110 (no TLS)     127.0.0.1:1995 (TLS, self-signed)
  SMTP:  127.0.0.1:1025 (no TLS)     127.0.0.1:1587 (STARTTLS, self-signed)

  Try:
    curl -s --user ${DEMO_USER}:${DEMO_PASSWORD} 'imap://127.0.0.1:1143/INBOX;UID=1'
    curl -s --user ${DEMO_USER}:${DEMO_PASSWORD} pop3://127.0.0.1:1110/1
    printf 'Subject: hi\\r\\n\\r\\nhello\\r\\n' | curl -s --user ${DEMO_USER}:${DEMO_PASSWORD} \\
      --mail-from ${DEMO_MAILBOX} --mail-rcpt ${DEMO_MAILBOX} --upload-file - smtp://127.0.0.1:1025

  Generated config: ${configFile}
  Stop with Ctrl-C.

`;
}
