// A local stand-in for Microsoft Entra ID and Exchange Online, for `o365-mail-proxy demo`
// and the integration tests: an HTTPS token endpoint issuing app-only JWTs, and IMAP, POP3
// and SMTP servers that accept them over XOAUTH2, all on 127.0.0.1 and all in memory.
// Self-contained on purpose: nothing here imports proxy code, so the proxy is tested against
// an independent implementation of the other side.
import { createSecureContext } from 'node:tls';
import { createSelfSignedCertificate } from './certificate.js';
import { Directory } from './directory.js';
import { issuerFor } from './entra/access-token.js';
import { createDelegatedFlows } from './entra/delegated.js';
import { createEntraServer } from './entra/server.js';
import { createSigningKey } from './entra/keys.js';
import type { TokenCheckContext } from './exchange/token-check.js';
import { createGraphService } from './graph/service.js';
import { createImapServer } from './imap/server.js';
import { MailStore } from './mail-store.js';
import type { Connection } from './net/connection.js';
import { closeServer, listen, LOOPBACK } from './net/listen.js';
import { createPop3Server } from './pop3/server.js';
import { createSmtpServer } from './smtp/server.js';
import type { Sandbox, SandboxControls, SandboxOptions, SandboxStats } from './types.js';

export type { Endpoint, GraphAttachment, GraphFault, GraphOperation, GraphRecipient, GraphSentMessage, Sandbox, SandboxApp, SandboxControls, SandboxOptions, SandboxStats, SandboxUser, SignInFailure } from './types.js';
export { DELEGATED_SCOPES } from './directory.js';

/** A fixed, obviously made-up directory ID, so demo configs stay the same between runs. */
export const DEFAULT_TENANT_ID = '5a4db0c5-0000-4000-8000-5a4db0c50000';
const DEFAULT_AUDIENCE = 'https://outlook.office365.com';

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const tenantId = opts.tenantId ?? DEFAULT_TENANT_ID;
  const audience = (opts.exchangeAudience ?? DEFAULT_AUDIENCE).replace(/\/$/, '');
  const lifetimeSeconds = opts.tokenLifetimeSeconds ?? 3600;
  const [tlsCertificate, key] = await Promise.all([
    createSelfSignedCertificate({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] }),
    createSigningKey(),
  ]);
  const tls = { cert: tlsCertificate.certPem, key: tlsCertificate.keyPem };

  const directory = new Directory(tenantId);
  const store = new MailStore();
  const stats: SandboxStats = { tokenRequests: 0, refreshRequests: 0, deviceCodeRequests: 0, imapLogins: 0, pop3Logins: 0, smtpLogins: 0, imapConnections: 0, pop3Connections: 0, smtpConnections: 0, graphRequests: {} };
  const controls: SandboxControls = { entraDown: false, entraDelayMs: 0, smtpAuthDisabled: false, errorChallenge: false, sessionLimitPerMailbox: 0, smtpDataReplyDelayMs: 0, graphDelayMs: 0, graphMaxMessageBytes: 35 * 1024 * 1024 };
  const connections = new Set<Connection>();
  let authorityHost = '';
  let graphUrl = '';
  const delegated = createDelegatedFlows({
    directory, key, stats, lifetimeSeconds, exchangeAudience: audience, authorityHost: () => authorityHost,
    deviceCodeLifetimeSeconds: opts.deviceCodeLifetimeSeconds ?? 900, deviceCodeIntervalSeconds: opts.deviceCodeIntervalSeconds ?? 5,
  });
  const tokens: TokenCheckContext = { directory, store, key, audience, exchangeResources: delegated.exchangeResources };
  const entra = createEntraServer({ tls, directory, key, controls, stats, lifetimeSeconds, exchangeAudience: audience, graphAudience: () => graphUrl, authorityHost: () => authorityHost, delegated });
  const imap = createImapServer(tls, connections, { tokens, controls, stats });
  const pop3 = createPop3Server(tls, connections, { tokens, controls, stats });
  const smtp = createSmtpServer(connections, { tokens, controls, stats, secureContext: createSecureContext(tls) });
  const graph = createGraphService({ tls, directory, key, store, controls, stats, graphUrl: () => graphUrl });
  const servers = [entra.server, imap, pop3, smtp, graph.server];

  const ports = opts.ports ?? {};
  try {
    const [entraPort, imapPort, pop3Port, smtpPort, graphPort] = await Promise.all([
      listen(entra.server, ports.entra ?? 0),
      listen(imap, ports.imap ?? 0),
      listen(pop3, ports.pop3 ?? 0),
      listen(smtp, ports.smtp ?? 0),
      listen(graph.server, ports.graph ?? 0),
    ]);
    authorityHost = `https://${LOOPBACK}:${entraPort}`;
    graphUrl = `https://${LOOPBACK}:${graphPort}`;

    const mailbox = (address: string) => {
      const found = store.get(address);
      if (!found) throw new Error(`sandbox: no mailbox ${address}; call addMailbox first`);
      return found;
    };
    const dropConnections = (): void => {
      for (const conn of [...connections]) conn.destroy();
    };

    return {
      tenantId,
      authorityHost,
      caPem: tlsCertificate.certPem,
      imap: { host: LOOPBACK, port: imapPort },
      pop3: { host: LOOPBACK, port: pop3Port },
      smtp: { host: LOOPBACK, port: smtpPort },
      graphUrl,
      ...graph.api,
      registerApp: (app) => directory.register(app),
      addMailbox: (address, messages = []) => void store.add(address, messages),
      grantFullAccess: (address, objectId) => void mailbox(address).fullAccess.add(objectId.toLowerCase()),
      addUser(upn, options) {
        if (!store.get(upn)) store.add(upn);
        return directory.addUser(upn, options);
      },
      ...delegated.controls,
      messages: (address, folder = 'INBOX') => store.get(address)?.folder(folder)?.messages.map((m) => m.raw) ?? [],
      stats,
      controls,
      throttle: (address, ms) => void (mailbox(address).throttledUntil = Date.now() + ms),
      tokenSigning: {
        kid: key.kid,
        publicKeyPem: key.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        issuer: issuerFor(tenantId),
        audience,
      },
      dropConnections,
      openConnections: () => connections.size,
      async close() {
        entra.cancelPending();
        entra.server.closeAllConnections();
        graph.server.closeAllConnections();
        dropConnections();
        await Promise.all(servers.map(closeServer));
      },
    };
  } catch (error) {
    entra.cancelPending();
    await Promise.all(servers.map(closeServer));
    throw error;
  }
}
