import { Writable } from 'node:stream';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../config/validate.js';
import type { AccountConfig, AppConfig, Protocol, ProxyConfig } from '../config/types.js';
import { certificateValidities, describeValidity, RENEW_WITHIN_DAYS } from '../ops/certificate-expiry.js';
import { tokenOptions } from '../tokens/options.js';
import { connectorOptions } from '../upstream/options.js';
import { createLogger } from '../ops/log.js';
import { counted } from '../ops/words.js';
import { REQUIRED_ROLE } from '../tokens/claims.js';
import { TokenError } from '../tokens/errors.js';
import { TokenProvider, type AccessToken } from '../tokens/provider.js';
import { UpstreamConnector } from '../upstream/connector.js';
import { UpstreamError } from '../outbound/errors.js';
import { loginImap } from '../upstream/imap-login.js';
import { loginPop3 } from '../upstream/pop3-login.js';
import { SmtpUpstream } from '../upstream/smtp-client.js';
import { sendingChecks } from './sending.js';
import { signInChecks } from './signin-check.js';
import type { Finding } from './finding.js';
import { aadstsAdvice, enableSmtpAuth, grantMailbox, registerServicePrincipal, roleFix } from '../tokens/setup-advice.js';

export type { Finding } from './finding.js';

export interface DoctorOptions {
  configPath: string;
  account?: string;
  protocol?: Protocol;
  /** Send a real test message to this address from each account, through the path it uses. */
  sendTest?: string;
}

/**
 * Checks, in order, everything between a legacy client and a working mailbox: the config
 * (and how long its certificates last), a token per app registration, the token's roles, and a real XOAUTH2 login per account and
 * protocol. Later checks are skipped when an earlier one they depend on failed.
 */
export async function runDoctor(options: DoctorOptions): Promise<Finding[]> {
  let config: ProxyConfig;
  try {
    config = loadConfig(options.configPath);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) => ({ check: 'config', ok: false, summary: `${p.key}: ${p.problem}`, fix: [p.fix] }));
  }
  const proxy = config.upstream.httpProxy;
  const outbound = proxy ? [`outbound: token requests through proxy ${proxy.host}:${proxy.port}, mail connections ${proxy.forMail ? 'through it too' : 'direct'}`] : [];
  const findings: Finding[] = [{ check: 'config', ok: true, summary: `${options.configPath} is valid (${counted(config.apps.size, 'app registration')}, ${counted(config.accounts.size, 'account')})`, ...(proxy ? { details: outbound } : {}) }];
  for (const certificate of certificateValidities(config)) {
    const ok = certificate.daysLeft >= RENEW_WITHIN_DAYS;
    findings.push({ check: `certificate ${certificate.key}`, ok, summary: describeValidity(certificate), ...(ok ? {} : { fix: [certificate.renew] }) });
  }

  const accounts = [...config.accounts.values()].filter((a) => !options.account || a.username.toLowerCase() === options.account.toLowerCase());
  if (options.account && accounts.length === 0) {
    findings.push({ check: 'config', ok: false, summary: `no account named "${options.account}"`, fix: [`use one of: ${[...config.accounts.values()].map((a) => a.username).join(', ')}`] });
    return findings;
  }
  const protocolsOf = (account: AccountConfig) => account.protocols.filter((p) => !options.protocol || p === options.protocol);
  const quiet = createLogger({ level: 'silent', format: 'json', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const connector = new UpstreamConnector(connectorOptions(config));

  for (const account of accounts.filter((a) => a.auth === 'delegated')) {
    findings.push(...await signInChecks(config, account, protocolsOf(account), connector, quiet));
  }
  for (const app of config.apps.values()) {
    const users = accounts.filter((a) => a.app === app.name && a.auth === 'app');
    if (users.length === 0) continue;
    const provider = new TokenProvider(app, tokenOptions(config, quiet));
    const token = await tokenCheck(provider, app, findings);
    // Accounts that send through Graph need no Exchange role for SMTP.
    const exchangeProtocols = (account: AccountConfig) => protocolsOf(account).filter((p) => p !== 'smtp' || account.smtpVia !== 'graph');
    const needed = new Set(users.flatMap(exchangeProtocols));
    const senders = users.filter((a) => protocolsOf(a).includes('smtp'));
    if (!token) {
      // Said, so that a short list of findings is not read as "the logins were fine".
      const skipped = `no access token for ${app.name}`;
      findings.push({ check: `roles ${app.name}`, ok: false, summary: `skipped: ${skipped}`, skipped });
      for (const account of users) {
        for (const protocol of exchangeProtocols(account)) findings.push({ check: `login ${account.username} ${protocol}`, ok: false, summary: `skipped: ${skipped}`, skipped });
      }
      if (senders.length > 0) findings.push(...await sendingChecks(config, connector, { app, accounts: senders, smtpAuthDisabled: new Set(), outlookToken: undefined }, options.sendTest));
      continue;
    }
    const missing = [...needed].filter((p) => !token.claims?.roles.includes(REQUIRED_ROLE[p]));
    if (needed.size > 0) findings.push(missing.length === 0
      ? { check: `roles ${app.name}`, ok: true, summary: `the token grants ${[...needed].map((p) => REQUIRED_ROLE[p]).join(', ')}` }
      : { check: `roles ${app.name}`, ok: false, summary: `the token lacks ${missing.map((p) => REQUIRED_ROLE[p]).join(', ')}`, details: [`roles in the token: ${token.claims?.roles.join(', ') || 'none'}`], fix: missing.flatMap(roleFix) });

    const smtpAuthDisabled = new Set<string>();
    for (const account of users) {
      // An account that sends through Graph does not log in with SMTP AUTH.
      for (const protocol of exchangeProtocols(account)) {
        const finding = await loginCheck(config, connector, account, protocol, token);
        if (protocol === 'smtp' && account.smtpVia === 'auto' && /SMTP AUTH is disabled/.test(finding.summary)) {
          smtpAuthDisabled.add(account.username);
          const { fix: _unused, ...rest } = finding;
          findings.push({ ...rest, ok: true, summary: `${finding.summary}: smtpVia auto sends through Microsoft Graph instead` });
        } else {
          findings.push(finding);
        }
      }
    }
    if (senders.length > 0) findings.push(...await sendingChecks(config, connector, { app, accounts: senders, smtpAuthDisabled, outlookToken: token }, options.sendTest));
  }
  return findings;
}

async function tokenCheck(provider: TokenProvider, app: AppConfig, findings: Finding[]): Promise<AccessToken | undefined> {
  const appName = app.name;
  try {
    const token = await provider.getToken();
    const claims = token.claims;
    findings.push({
      check: `token ${appName}`,
      ok: true,
      summary: 'an access token was obtained',
      details: [
        `tenant (tid): ${claims?.tid ?? app.tenantId}`,
        `application (appid): ${claims?.appid ?? '?'}`,
        `service principal object ID (oid): ${claims?.oid ?? '?'}`,
        `expires: ${new Date(token.expiresAt).toISOString()}`,
        `roles: ${claims?.roles.join(', ') || 'none'}`,
      ],
    });
    return token;
  } catch (error) {
    const failure = error instanceof TokenError ? error : new TokenError(String(error), true, String(error));
    const advice = failure.aadsts ? aadstsAdvice(failure.aadsts) : undefined;
    findings.push({
      check: `token ${appName}`,
      ok: false,
      summary: `no access token: ${advice?.cause ?? failure.reason}${failure.aadsts ? ` (AADSTS${failure.aadsts})` : ''}`,
      details: [`asked ${app.authorityHost} for tenant ${app.tenantId}, client ID ${app.clientId}`, failure.detail],
      fix: advice?.fix ?? (failure.temporary ? ['check that this machine reaches the authority host (firewall, proxy, upstream.caFile)'] : undefined),
    });
    return undefined;
  }
}

async function loginCheck(config: ProxyConfig, connector: UpstreamConnector, account: AccountConfig, protocol: Protocol, token: AccessToken): Promise<Finding> {
  const check = `login ${account.username} ${protocol}`;
  const { upstream } = config;
  const target = upstream[protocol];
  try {
    if (protocol === 'imap') (await loginImap(connector, upstream, account.mailbox, token.token)).socket.destroy();
    else if (protocol === 'pop3') (await loginPop3(connector, upstream, account.mailbox, token.token)).socket.destroy();
    else await (await SmtpUpstream.open(connector, upstream, account.mailbox, token.token)).quit();
    return { check, ok: true, summary: `${account.mailbox} opens over ${protocol.toUpperCase()} at ${target.host}:${target.port}` };
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    const ids = { appid: token.claims?.appid ?? '<appid>', oid: token.claims?.oid ?? '<oid>', mailbox: account.mailbox };
    const details = [error.message, ...(error.serverReply ? [`server said: ${error.serverReply}`] : [])];
    const hasRole = token.claims?.roles.includes(REQUIRED_ROLE[protocol]) ?? false;
    const failed = (summary: string, fix?: string[]): Finding => ({ check, ok: false, summary, details, ...(fix ? { fix } : {}) });
    if (error.kind === 'not-connected') return failed(`the service principal has no permission on ${account.mailbox} ("authenticated but not connected")`, grantMailbox(ids));
    if (error.kind !== 'rejected') return failed(`${target.host}:${target.port} could not be reached or did not answer (${error.kind})`, ['check the network path, firewall and proxy to the host; behind TLS inspection set upstream.caFile']);
    if (!hasRole) return failed(`Exchange refused the token: it lacks ${REQUIRED_ROLE[protocol]}`, roleFix(protocol));
    if (protocol === 'smtp' && /5\.7\.139|SmtpClientAuthentication/i.test(error.serverReply ?? '')) {
      return failed(`SMTP AUTH is disabled for ${account.mailbox} or the tenant`, enableSmtpAuth(account.mailbox));
    }
    if (protocol === 'smtp' && /STOREDRV|mailbox logon failure/i.test(error.serverReply ?? '')) {
      return failed(`the service principal has no permission on ${account.mailbox}`, grantMailbox(ids));
    }
    return failed(`Exchange refused a valid token for ${account.mailbox}: the service principal is likely not registered in Exchange, or has no permission on the mailbox`, registerServicePrincipal(ids));
  }
}
