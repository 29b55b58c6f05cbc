import { Readable } from 'node:stream';
import type { AccountConfig, AppConfig, ProxyConfig } from '../config/types.js';
import { formatReply } from '../wire/smtp-reply.js';
import type { AccessToken } from '../tokens/provider.js';
import type { UpstreamConnector } from '../upstream/connector.js';
import { SmtpUpstream } from '../upstream/smtp-client.js';
import { graphAccessCheck, graphSendTest, graphTokenCheck, testMessage } from './graph.js';
import type { Finding } from './finding.js';

/** Accounts of one app whose SMTP clients send, and how the SMTP AUTH check went for each "auto" one. */
export interface Senders {
  app: AppConfig;
  accounts: AccountConfig[];
  /** Usernames of "auto" accounts whose SMTP AUTH Exchange answered with 535 5.7.139. */
  smtpAuthDisabled: Set<string>;
  /** The Outlook token, for a send test over SMTP AUTH. */
  outlookToken: AccessToken | undefined;
}

/**
 * The sending side of the doctor: for smtpVia graph or auto, the Graph token's roles, which path
 * "auto" takes and why, the app's reach into each mailbox; with --send-test, one real message
 * per account through the path it uses.
 */
export async function sendingChecks(config: ProxyConfig, connector: UpstreamConnector, senders: Senders, sendTo: string | undefined): Promise<Finding[]> {
  const findings: Finding[] = [];
  const viaGraph = (a: AccountConfig) => a.smtpVia === 'graph' || (a.smtpVia === 'auto' && senders.smtpAuthDisabled.has(a.username));
  for (const account of senders.accounts.filter((a) => a.smtpVia === 'auto')) {
    findings.push(viaGraph(account)
      ? { check: `path ${account.username}`, ok: true, summary: 'smtpVia auto: sends through Microsoft Graph, because Exchange answered SMTP AUTH with 535 5.7.139 (SmtpClientAuthentication is disabled)' }
      : { check: `path ${account.username}`, ok: true, summary: 'smtpVia auto: sends through SMTP AUTH, which Exchange accepts; it turns to Microsoft Graph if Exchange answers 535 5.7.139' });
  }
  const graphUsers = senders.accounts.filter((a) => a.smtpVia !== 'smtp');
  const probe = graphUsers.length > 0 ? await graphTokenCheck(config, senders.app, findings) : undefined;
  for (const account of graphUsers) {
    if (!probe) continue;
    const access = await graphAccessCheck(config, probe, account);
    if (access) findings.push(access);
  }
  if (!sendTo) return findings;
  for (const account of senders.accounts) {
    if (viaGraph(account)) {
      findings.push(probe ? await graphSendTest(config, probe, account, sendTo) : { check: `send-test ${account.username}`, ok: false, summary: 'skipped: no Microsoft Graph token', skipped: 'no Microsoft Graph token' });
    } else {
      findings.push(await smtpSendTest(config, connector, account, senders.outlookToken, sendTo));
    }
  }
  return findings;
}

async function smtpSendTest(config: ProxyConfig, connector: UpstreamConnector, account: AccountConfig, token: AccessToken | undefined, to: string): Promise<Finding> {
  const check = `send-test ${account.username}`;
  if (!token) return { check, ok: false, summary: 'skipped: no access token', skipped: 'no access token' };
  let upstream: SmtpUpstream | undefined;
  try {
    upstream = await SmtpUpstream.open(connector, config.upstream, account.mailbox, token.token);
    for (const line of [`MAIL FROM:<${account.mailbox}>`, `RCPT TO:<${to}>`]) {
      const answer = await upstream.command(line);
      if (answer.code >= 400) return { check, ok: false, summary: `Exchange refused ${line.split(':')[0]}: ${formatReply(answer)}` };
    }
    const answer = await upstream.data(Readable.from([testMessage(account.mailbox, to, 'SMTP AUTH')]));
    if (answer.code >= 400) return { check, ok: false, summary: `Exchange refused the message: ${formatReply(answer)}` };
    return { check, ok: true, summary: `sent to ${to} through SMTP AUTH (${formatReply(answer)})` };
  } catch (error) {
    return { check, ok: false, summary: `the SMTP AUTH login failed: ${(error as Error).message}` };
  } finally {
    await upstream?.quit().catch(() => undefined);
  }
}
