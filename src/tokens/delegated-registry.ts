import type { ProxyConfig } from '../config/types.js';
import type { Logger } from 'pino';
import type { Metrics } from '../ops/metrics.js';
import { DelegatedSignIn } from './delegated-signin.js';
import { tokenOptions } from './options.js';
import { SignInStore } from './signin-store.js';

/**
 * One DelegatedSignIn per delegated account, keyed like config.accounts (lower-cased username).
 * A reload keeps an account's object when what it signs in with is unchanged: its cached token,
 * its merged renewal, and the sign-in it holds in memory (which lets a changed local password
 * re-seal the store) live on.
 */
export function createDelegatedSignIns(config: ProxyConfig, log: Logger, metrics?: Metrics, previous?: ReadonlyMap<string, DelegatedSignIn>): Map<string, DelegatedSignIn> {
  const store = new SignInStore(config.tokenStore.dir);
  const options = { ...tokenOptions(config, log, metrics), ...(config.tokenStore.key ? { storeKey: config.tokenStore.key } : {}) };
  const signIns = new Map<string, DelegatedSignIn>();
  // Accounts a reload removed drop out of the metric; the others publish again below.
  metrics?.delegatedSignInValid.clear();
  for (const [name, account] of config.accounts) {
    if (account.auth !== 'delegated') continue;
    const app = config.apps.get(account.app)!;
    const identity = JSON.stringify([app.clientId, app.tenantId, app.authorityHost, app.scope, account.protocols, store.dir, config.tokenStore.key?.reveal() ?? '']);
    const kept = previous?.get(name);
    if (kept && identities.get(kept) === identity) {
      kept.update(account);
      signIns.set(name, kept);
      continue;
    }
    const signIn = new DelegatedSignIn(account, app, store, options);
    identities.set(signIn, identity);
    signIns.set(name, signIn);
  }
  return signIns;
}

/** What each sign-in was made from, to tell on a reload whether it still fits. */
const identities = new WeakMap<DelegatedSignIn, string>();
