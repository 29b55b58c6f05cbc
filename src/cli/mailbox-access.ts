import type { AccountConfig, ProxyConfig } from '../config/types.js';
import type { Secret } from '../config/secret.js';
import { UpstreamConnector } from '../upstream/connector.js';
import { loginImap } from '../upstream/imap-login.js';
import { loginPop3 } from '../upstream/pop3-login.js';
import { SmtpUpstream } from '../upstream/smtp-client.js';
import { connectorOptions } from '../upstream/options.js';

/**
 * Whether Exchange lets this token open the account's mailbox: one XOAUTH2 login with the
 * mailbox as the user, over the account's first protocol, closed at once.
 */
export async function mailboxAccess(config: ProxyConfig, account: AccountConfig, token: Secret): Promise<{ ok: boolean; detail: string }> {
  const connector = new UpstreamConnector(connectorOptions(config));
  const protocol = account.protocols[0] ?? 'imap';
  try {
    if (protocol === 'imap') (await loginImap(connector, config.upstream, account.mailbox, token)).socket.destroy();
    else if (protocol === 'pop3') (await loginPop3(connector, config.upstream, account.mailbox, token)).socket.destroy();
    else (await SmtpUpstream.open(connector, config.upstream, account.mailbox, token)).socket.destroy();
    return { ok: true, detail: `${protocol.toUpperCase()} login to ${account.mailbox} worked` };
  } catch (error) {
    return { ok: false, detail: `${protocol.toUpperCase()} login refused: ${(error as Error).message}` };
  }
}
