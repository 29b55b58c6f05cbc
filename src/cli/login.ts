import { loadConfig } from '../config/load.js';
import { verifyPassword } from '../config/password-hash.js';
import { Secret } from '../config/secret.js';
import type { AccountConfig, ProxyConfig } from '../config/types.js';
import { delegatedScopes } from '../tokens/delegated-scopes.js';
import type { Opener } from '../tokens/sealed-file.js';
import { SignInStore, type SignIn } from '../tokens/signin-store.js';
import { signInWithBrowser } from './browser-signin.js';
import { mailboxAccess } from './mailbox-access.js';
import { promptHidden, readStdin } from './prompt.js';
import { publicClient, signInOf, signInWithDeviceCode } from './signin-flows.js';
import { UsageError } from './usage-error.js';

/**
 * `login <account>`: a person signs in (device code, or --browser on a desktop), and the
 * refresh token is stored, sealed, for the proxy to renew. Without tokenStore.key the store is
 * sealed with the account's local password, asked for (and checked) before the sign-in.
 */
export async function loginCommand(configPath: string, username: string, browser: boolean): Promise<number> {
  const config = loadConfig(configPath);
  const account = delegatedAccount(config, username);
  const opener: Opener = config.tokenStore.key ? { key: config.tokenStore.key } : { password: await localPassword(account) };
  const app = config.apps.get(account.app)!;
  const scopes = delegatedScopes(app, account.protocols);
  const client = publicClient(app, config);
  const out = process.stdout;
  const result = browser
    ? await signInWithBrowser(client, scopes, (url) => out.write(`Open this address in a browser on this computer and sign in as ${account.mailbox}:\n${url}\n`))
    : await signInWithDeviceCode(client, scopes, (prompt) => out.write(`${prompt.message}\nURL: ${prompt.verificationUri}\nCode: ${prompt.userCode}\nWaiting for the sign-in…\n`));
  const signIn = await signInOf(client, result, app);
  out.write(`Signed in as ${signIn.user}\nGranted: ${signIn.scopes}\n`);
  if (!(await mayOpen(config, account, signIn, result.accessToken))) return 1;
  const store = new SignInStore(config.tokenStore.dir);
  await store.write(account.username, signIn, opener);
  out.write(`Stored the sign-in for ${account.username} in ${store.fileOf(account.username)} (encrypted with ${'key' in opener ? 'tokenStore.key' : 'the account\'s local password'}).\n`);
  if (!('key' in opener)) out.write('Without tokenStore.key the proxy renews it when a client logs in with that password.\n');
  return 0;
}

/** `logout <account>`: the stored sign-in is removed (the proxy refuses the account's logins until the next `login`). */
export function logoutCommand(configPath: string, username: string): void {
  const config = loadConfig(configPath);
  const account = delegatedAccount(config, username);
  const store = new SignInStore(config.tokenStore.dir);
  const removed = store.remove(account.username);
  process.stdout.write(removed ? `Removed the sign-in of ${account.username} (${store.fileOf(account.username)}).\n` : `No sign-in was stored for ${account.username}.\n`);
}

function delegatedAccount(config: ProxyConfig, username: string): AccountConfig {
  const account = config.accounts.get(username.toLowerCase());
  if (!account) throw new UsageError(`no account "${username}" in the config (defined: ${[...config.accounts.values()].map((a) => a.username).join(', ')})`);
  if (account.auth !== 'delegated') throw new UsageError(`account "${account.username}" gets app-only tokens; set "auth": "delegated" on accounts.${account.username} to sign in as a person`);
  return account;
}

/** On a terminal, asked without echo; else the first line of stdin. Checked against passwordHash. */
async function localPassword(account: AccountConfig): Promise<Secret> {
  const password = process.stdin.isTTY
    ? await promptHidden(`Local password of ${account.username} (it encrypts the stored sign-in): `)
    : new Secret((await readStdin()).split(/\r?\n/)[0] ?? '');
  if (password.isEmpty || !(await verifyPassword(password, account.passwordHash))) {
    throw new UsageError(`that is not the local password of ${account.username} (its passwordHash); without tokenStore.key the sign-in is encrypted with it`);
  }
  return password;
}

/**
 * The signed-in user must be the account's mailbox, or be able to open it (a shared mailbox):
 * checked by logging in to it upstream with the new token, as the proxy will.
 */
async function mayOpen(config: ProxyConfig, account: AccountConfig, signIn: SignIn, accessToken: string): Promise<boolean> {
  if (signIn.user.toLowerCase() === account.mailbox.toLowerCase()) return true;
  const access = await mailboxAccess(config, account, new Secret(accessToken));
  if (access.ok) {
    process.stdout.write(`${signIn.user} is not ${account.mailbox}, but can open it (a shared mailbox): ${access.detail}\n`);
    return true;
  }
  process.stderr.write(`o365-mail-proxy: refused: ${signIn.user} signed in, but accounts.${account.username}.mailbox is ${account.mailbox}, which ${signIn.user} cannot open (${access.detail}). Sign in as ${account.mailbox}, or give ${signIn.user} Full Access to it. Nothing was stored.\n`);
  return false;
}
