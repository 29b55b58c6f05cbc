import { Writable } from 'node:stream';
import type { AccountConfig, AppConfig, ProxyConfig } from '../config/types.js';
import { createLogger } from '../ops/log.js';
import { createGraphClient } from '../upstream/graph/create.js';
import { graphFailureReply } from '../fronts/smtp/graph-replies.js';
import { tokenOptions } from '../tokens/options.js';
import { TokenError } from '../tokens/errors.js';
import { TokenProvider, type AccessToken } from '../tokens/provider.js';
import type { GraphClient, GraphContext } from '../upstream/graph/client.js';
import { GraphError } from '../upstream/graph/errors.js';
import { sendThroughGraph } from '../upstream/graph/send.js';
import { grantGraphMailbox, grantSendAs, graphRoleFix } from './graph-advice.js';
import type { Finding } from './finding.js';

const quiet = createLogger({ level: 'silent', format: 'json', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

/** What the Graph checks of one app share. */
export interface GraphProbe {
  client: GraphClient;
  tokens: TokenProvider;
  token: AccessToken;
}


/** The Graph token of an app and its roles: Mail.Send for sendMail, Mail.ReadWrite for the draft path. */
export async function graphTokenCheck(config: ProxyConfig, app: AppConfig, findings: Finding[]): Promise<GraphProbe | undefined> {
  const tokens = new TokenProvider({ ...app, scope: app.graphScope }, tokenOptions(config, quiet));
  let token: AccessToken;
  try {
    token = await tokens.getToken();
  } catch (error) {
    const failure = error instanceof TokenError ? error : new TokenError(String(error), true, String(error));
    findings.push({ check: `graph token ${app.name}`, ok: false, summary: `no Microsoft Graph token: ${failure.reason}`, details: [`scope ${app.graphScope}`, failure.detail] });
    return undefined;
  }
  const roles = token.claims?.roles ?? [];
  findings.push({ check: `graph token ${app.name}`, ok: true, summary: `a Microsoft Graph token was obtained (scope ${app.graphScope})`, details: [`roles: ${roles.join(', ') || 'none'}`] });
  const missing = ['Mail.Send', 'Mail.ReadWrite'].filter((role) => !roles.includes(role));
  if (missing.length === 0) {
    findings.push({ check: `graph roles ${app.name}`, ok: true, summary: 'the Graph token grants Mail.Send and Mail.ReadWrite' });
  } else {
    const why = missing.includes('Mail.Send')
      ? 'without Mail.Send nothing can be sent through Graph'
      : 'without Mail.ReadWrite only messages whose envelope equals their To/Cc/Bcc headers and that fit 4 MB can be sent (sendMail); Bcc-only recipients and larger messages need the draft path';
    findings.push({ check: `graph roles ${app.name}`, ok: false, summary: `the Graph token lacks ${missing.join(' and ')}: ${why}`, fix: graphRoleFix(missing) });
  }
  return { client: createGraphClient(config), tokens, token };
}

const contextFor = (probe: GraphProbe, account: AccountConfig, config: ProxyConfig): GraphContext =>
  ({ mailbox: account.mailbox, tokens: probe.tokens, deadline: Date.now() + config.upstream.graph.sendTimeoutMs, log: quiet });

/**
 * With Mail.ReadWrite, asking for a message that does not exist shows, without sending
 * anything, whether a policy keeps the app from the mailbox: "not found" means the app got in;
 * an application access policy or RBAC scope answers 403 before any item is looked up.
 */
export async function graphAccessCheck(config: ProxyConfig, probe: GraphProbe, account: AccountConfig): Promise<Finding | undefined> {
  if (!probe.token.claims?.roles.includes('Mail.ReadWrite')) return undefined;
  const check = `graph access ${account.username}`;
  const reached = { check, ok: true, summary: `the app reaches ${account.mailbox} over Microsoft Graph` };
  try {
    await probe.client.call({ operation: 'getMessage', method: 'GET', path: '/messages/o365-mail-proxy-doctor-probe?$select=id' }, contextFor(probe, account, config));
    return reached;
  } catch (error) {
    if (error instanceof GraphError && (error.status === 404 || (error.status === 400 && /InvalidId/i.test(error.code)))) return reached;
    return refusal(check, error, probe, account, account.mailbox);
  }
}

/** doctor --send-test: one real message through Graph, reported as the client would hear it. */
export async function graphSendTest(config: ProxyConfig, probe: GraphProbe, account: AccountConfig, to: string): Promise<Finding> {
  const check = `send-test ${account.username}`;
  const message = testMessage(account.mailbox, to, 'Microsoft Graph');
  try {
    const sent = await sendThroughGraph(probe.client, contextFor(probe, account, config), message, [to]);
    return { check, ok: true, summary: `sent to ${to} through Microsoft Graph (${sent.path}${sent.requestId ? `, request-id ${sent.requestId}` : ''})` };
  } catch (error) {
    return refusal(check, error, probe, account, account.mailbox);
  }
}

function refusal(check: string, error: unknown, probe: GraphProbe, account: AccountConfig, from: string): Finding {
  const claims = probe.token.claims;
  const { reply, hint } = graphFailureReply(error, { mailbox: account.mailbox, from, roles: claims?.roles, appId: claims?.appid });
  const details = [`Graph: ${(error as Error).message}`, `a client would hear: ${reply.code} ${reply.text}`, ...(error instanceof GraphError && error.requestId ? [`request-id: ${error.requestId}`] : [])];
  const ids = { appid: claims?.appid ?? '<appid>', oid: claims?.oid ?? '<oid>', mailbox: account.mailbox };
  if (error instanceof GraphError && error.status === 403 && error.code === 'ErrorSendAsDenied') {
    return { check, ok: false, summary: `${account.mailbox} may not send as ${from}`, details, fix: grantSendAs(account.mailbox, from) };
  }
  if (error instanceof GraphError && error.status === 403 && claims?.roles.includes('Mail.Send')) {
    return { check, ok: false, summary: `an application access policy (or RBAC for Applications scope) keeps the app from ${account.mailbox}`, details, fix: grantGraphMailbox(ids) };
  }
  return { check, ok: false, summary: `Microsoft Graph refused: ${reply.code} ${reply.text}`, details, ...(hint ? { fix: [hint] } : {}) };
}

/** A short plain-text message that says where it came from. */
export function testMessage(from: string, to: string, path: string): Buffer {
  const id = `${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}@o365-mail-proxy.doctor`;
  return Buffer.from([
    `From: ${from}`, `To: ${to}`, `Subject: o365-mail-proxy doctor: test message through ${path}`, `Message-ID: <${id}>`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '',
    `This message was sent by "o365-mail-proxy doctor --send-test" from ${from} through ${path}.`, '',
  ].join('\r\n'));
}
