import { dirname } from 'node:path';
import { readConfigJson } from '../config/load.js';
import { checkAccounts } from '../config/accounts.js';
import { checkListeners } from '../config/listeners.js';
import { ConfigError } from '../config/validate.js';
import { checkShape } from '../config/shape.js';
import { tokenStoreDirOf } from '../config/token-store.js';
import { asObject, Validator } from '../config/validator.js';
import type { AccountConfig, ListenerConfig } from '../config/types.js';

export interface AccountsAndListeners {
  accounts: ReadonlyMap<string, AccountConfig>;
  listeners: readonly ListenerConfig[];
  /** tokenStore.dir, where delegated accounts' sign-ins are. */
  tokenStoreDir: string;
  /** The local certificate (PEM) the listeners should serve, when it can be read. */
  localCertificate?: string;
}

const PARTS = /^(accounts|listeners)\b/;

/**
 * The accounts and listeners of a config file, checked as start checks them, without the app
 * registrations' secrets: `accounts` and `test-login` run in an administrator's shell, which
 * usually lacks the service's environment (CONTOSO_CLIENT_SECRET) and may not read its secret
 * files. A problem in these parts is still a ConfigError with the key and the fix.
 */
export function readAccountsAndListeners(configPath: string): AccountsAndListeners {
  const { raw, full } = readConfigJson(configPath);
  // The schema fills in defaults (a listener's host and tls, an account's protocols).
  const data = structuredClone(raw);
  const shapeProblems = checkShape(data).filter((p) => PARTS.test(p.key));
  const root = asObject(data) ?? {};
  const v = new Validator(dirname(full));
  const accounts = checkAccounts(v, root.accounts, Object.keys(asObject(root.apps) ?? {}));
  const listeners = checkListeners(v, root.listeners);
  const taken = new Set(shapeProblems.map((p) => p.key));
  const problems = [...shapeProblems, ...v.problems.filter((p) => !taken.has(p.key))];
  if (problems.length > 0) throw new ConfigError(problems, full);
  return { accounts, listeners, tokenStoreDir: tokenStoreDirOf(root.tokenStore, dirname(full)), ...localCertificate(root.tls, dirname(full)) };
}

function localCertificate(value: unknown, baseDir: string): { localCertificate?: string } {
  const certFile = asObject(value)?.certFile;
  // Its own validator: a missing or unreadable certificate is start's problem, not this one's.
  const pem = new Validator(baseDir).pemFile(certFile, 'tls.certFile', 'CERTIFICATE');
  return pem ? { localCertificate: pem } : {};
}
