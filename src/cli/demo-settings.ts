import { join } from 'node:path';
import type { BoundListener } from '../listen/proxy.js';

export interface DemoSettings {
  user: string;
  password: string;
  mailbox: string;
  /** The account that sends through Microsoft Graph (smtpVia "graph"). */
  graph?: { user: string; password: string; mailbox: string };
  /** The demo's temporary directory: config, certificate, key, client secret. */
  dir: string;
  listeners: BoundListener[];
  logLevel: string;
}

const COLUMNS = [
  { tls: 'none', title: 'no TLS' },
  { tls: 'starttls', title: 'STARTTLS' },
  { tls: 'implicit', title: 'TLS' },
] as const;

/**
 * What to type into a mail client, printed once the demo is up. The ports are the ones
 * actually bound, one row per protocol, one column per kind of TLS. Clients that check
 * certificates (neomutt with its default ssl_force_tls, Java, curl on a TLS port) need the
 * certificate's path, so it is spelled out.
 */
export function demoSettings(settings: DemoSettings): string {
  const { user, password, mailbox, dir } = settings;
  const port = (protocol: string, tls: string) => settings.listeners.find((l) => l.protocol === protocol && l.tls === tls)?.port;
  const cell = (protocol: string, tls: string) => `127.0.0.1:${port(protocol, tls) ?? '-'}`.padEnd(18);
  const rows = ['imap', 'pop3', 'smtp'].map((protocol) => `  ${protocol.toUpperCase().padEnd(6)}${COLUMNS.map((c) => cell(protocol, c.tls)).join('')}`.trimEnd());
  const cert = join(dir, 'localhost.crt');
  const login = `--user ${user}:${password}`;
  const graph = settings.graph;
  const viaGraph = graph ? `
  Sends through Microsoft Graph (smtpVia "graph", SMTP only): ${graph.user} / ${graph.password}, mailbox ${graph.mailbox}
    printf 'Subject: via Graph\\r\\n\\r\\nhello\\r\\n' | curl -s --user ${graph.user}:${graph.password} \\
      --mail-from ${graph.mailbox} --mail-rcpt ${mailbox} --upload-file - smtp://127.0.0.1:${port('smtp', 'none')}
` : '';
  const quiet = settings.logLevel === 'warn' ? '  The log shows warnings and errors only, so this stays on screen; add --log-level info to see every session.\n' : '';
  return `
  o365-mail-proxy demo is running — nothing here talks to Microsoft.
  A fake Entra ID and a fake Exchange Online run on this machine; mailbox ${mailbox} holds 3 messages.

  Username: ${user}
  Password: ${password}

        ${COLUMNS.map((c) => c.title.padEnd(18)).join('').trimEnd()}
${rows.join('\n')}

  TLS certificate (self-signed, new for each run; clients that check certificates must trust it):
    ${cert}

  Try:
    curl -s ${login} 'imap://127.0.0.1:${port('imap', 'none')}/INBOX;UID=1'
    curl -s --ssl-reqd --cacert ${cert} ${login} 'imap://127.0.0.1:${port('imap', 'starttls')}/INBOX;UID=1'
    curl -s ${login} pop3://127.0.0.1:${port('pop3', 'none')}/1
    printf 'Subject: hi\\r\\n\\r\\nhello\\r\\n' | curl -s ${login} \\
      --mail-from ${mailbox} --mail-rcpt ${mailbox} --upload-file - smtp://127.0.0.1:${port('smtp', 'none')}
    neomutt -e 'set ssl_ca_certificates_file=${cert}' -f imap://${user}@127.0.0.1:${port('imap', 'starttls')}/INBOX
    keytool -importcert -noprompt -alias o365-mail-proxy-demo -file ${cert} -keystore demo.jks -storepass changeit
${viaGraph}
  Generated config: ${join(dir, 'config.json')}
${quiet}  Stop with Ctrl-C; the demo then deletes ${dir} (config, client secret, key).

`;
}
