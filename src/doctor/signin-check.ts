import type { Logger } from 'pino';
import type { AccountConfig, Protocol, ProxyConfig } from '../config/types.js';
import { DelegatedSignIn } from '../tokens/delegated-signin.js';
import { TokenError } from '../tokens/errors.js';
import type { AccessToken } from '../tokens/msal-source.js';
import { tokenOptions } from '../tokens/options.js';
import { aadstsAdvice, LOG_HINTS } from '../tokens/setup-advice.js';
import { SignInStore } from '../tokens/signin-store.js';
import type { UpstreamConnector } from '../upstream/connector.js';
import { loginImap } from '../upstream/imap-login.js';
import { loginPop3 } from '../upstream/pop3-login.js';
import { SmtpUpstream } from '../upstream/smtp-client.js';
import type { Finding } from './finding.js';

/**
 * A delegated account's checks: its stored sign-in, renewed for real when tokenStore.key lets
 * the doctor open it (the rotated refresh token is stored, as the proxy would), else what the
 * file says in the clear (when it was renewed, why the proxy's last renewal failed); then an
 * XOAUTH2 login per protocol with the renewed token.
 */
export async function signInChecks(config: ProxyConfig, account: AccountConfig, protocols: Protocol[], connector: UpstreamConnector, quiet: Logger): Promise<Finding[]> {
  const check = `sign-in ${account.username}`;
  const login = LOG_HINTS.signInAgain(account.username);
  const store = new SignInStore(config.tokenStore.dir);
  const signIn = new DelegatedSignIn(account, config.apps.get(account.app)!, store, { ...tokenOptions(config, quiet), ...(config.tokenStore.key ? { storeKey: config.tokenStore.key } : {}) });
  const skipAll = (skipped: string) => protocols.map((protocol): Finding => ({ check: `login ${account.username} ${protocol}`, ok: false, summary: `skipped: ${skipped}`, skipped }));
  if (!config.tokenStore.key) {
    const status = signIn.status();
    const stored = !('cause' in status);
    // Not a failure: without the key only a client's password opens the store, so the logins
    // are the proxy's to try; the file says whether its last renewal worked.
    return [stored
      ? { check, ok: true, summary: `a sign-in is stored, last renewed ${status.renewedAt?.toISOString() ?? '?'}`, details: ['without tokenStore.key it opens only with the account\'s local password, so the doctor does not log in with it: test-login does'] }
      : failed(check, status.cause, undefined, login, store, account.username)];
  }
  let token: AccessToken;
  try {
    token = await signIn.getToken();
  } catch (error) {
    const failure = error instanceof TokenError ? error : new TokenError(String(error), true, String(error));
    return [failed(check, failure.reason, failure.aadsts, login, store, account.username, failure.detail), ...skipAll(`the sign-in of ${account.username} does not work`)];
  }
  const status = signIn.status();
  const findings: Finding[] = [{ check, ok: true, summary: `the sign-in works: renewed for ${'user' in status ? status.user : '?'}`, details: [`scopes: ${token.claims?.scp ?? '?'}`, `expires: ${new Date(token.expiresAt).toISOString()}`] }];
  for (const protocol of protocols) findings.push(await delegatedLogin(config, connector, account, protocol, token));
  return findings;
}

function failed(check: string, cause: string, aadsts: string | undefined, login: string, store: SignInStore, username: string, detail?: string): Finding {
  const advice = aadsts ? aadstsAdvice(aadsts) : undefined;
  return {
    check,
    ok: false,
    summary: `the sign-in does not work: ${advice?.cause ?? cause}${aadsts ? ` (AADSTS${aadsts})` : ''}`,
    details: [`store: ${store.fileOf(username)}`, ...(detail ? [detail] : [])],
    fix: [...(advice?.fix.filter((f) => f !== 'sign in again') ?? []), login],
  };
}

async function delegatedLogin(config: ProxyConfig, connector: UpstreamConnector, account: AccountConfig, protocol: Protocol, token: AccessToken): Promise<Finding> {
  const check = `login ${account.username} ${protocol}`;
  const { upstream } = config;
  try {
    if (protocol === 'imap') (await loginImap(connector, upstream, account.mailbox, token.token)).socket.destroy();
    else if (protocol === 'pop3') (await loginPop3(connector, upstream, account.mailbox, token.token)).socket.destroy();
    else await (await SmtpUpstream.open(connector, upstream, account.mailbox, token.token)).quit();
    return { check, ok: true, summary: `${account.mailbox} opens over ${protocol.toUpperCase()} with the signed-in user's token` };
  } catch (error) {
    return { check, ok: false, summary: `Exchange refused the signed-in user's token for ${account.mailbox}`, details: [(error as Error).message], fix: [LOG_HINTS.delegatedTokenRejected(protocol, account.mailbox)] };
  }
}
