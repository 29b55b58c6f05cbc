import { isPasswordHash } from './password-hash.js';
import type { AccountAuth, AccountConfig, Protocol, SmtpVia } from './types.js';
import { asObject, type JsonObject, type Validator } from './validator.js';

/**
 * The hashes config.example.json ships with. They are well-formed, so without this check a
 * copied example would start and refuse every login. test/unit/config.test.ts keeps this list
 * and the example in step.
 */
const EXAMPLE_HASHES = new Set([
  'scrypt:ln=15,r=8,p=1:1W2+cqQb0e4Bs2BDOx0LXw==:5pM8L0b8NOX0tZ2h2NrKm3gKx1JmJ0y6Xl7mH1h1tSM=',
  'scrypt:ln=15,r=8,p=1:Zk0m3tYcGq6oF0d9iSx5uA==:q3T2m1uVqKZ8yq3B3S8b9mJrXcHf2Qv0Zq1o9h9aY7c=',
]);

/** Local accounts, keyed by lower-cased username; each must name an app under "apps". */
export function checkAccounts(v: Validator, value: unknown, appNames: readonly string[]): Map<string, AccountConfig> {
  const accounts = new Map<string, AccountConfig>();
  for (const [username, raw] of Object.entries(asObject(value) ?? {})) {
    const key = `accounts.${username}`;
    const account = checkAccount(v, key, username, asObject(raw), appNames);
    if (!account) continue;
    // JSON keys differ by case where usernames do not.
    const folded = username.toLowerCase();
    const earlier = accounts.get(folded);
    if (earlier) v.problem(key, `duplicates account "${earlier.username}" (usernames are case-insensitive)`, 'rename one of them');
    accounts.set(folded, account);
  }
  return accounts;
}

function checkAccount(v: Validator, key: string, username: string, raw: JsonObject | undefined, appNames: readonly string[]): AccountConfig | undefined {
  if (!raw) return undefined;
  const passwordHash = v.text(raw.passwordHash, `${key}.passwordHash`);
  if (passwordHash && EXAMPLE_HASHES.has(passwordHash)) {
    v.problem(`${key}.passwordHash`, 'is the placeholder from config.example.json', 'replace the placeholder with the line "o365-mail-proxy hash-password" prints for the account\'s password');
  } else if (passwordHash && !isPasswordHash(passwordHash)) {
    v.problem(`${key}.passwordHash`, 'is not a hash made by hash-password (plain passwords are not accepted)', 'run "o365-mail-proxy hash-password" and paste its output');
  }
  const mailbox = v.text(raw.mailbox, `${key}.mailbox`);
  if (mailbox && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(mailbox)) v.problem(`${key}.mailbox`, `"${mailbox}" is not an email address`, 'use the mailbox\'s primary SMTP address');
  const app = v.text(raw.app, `${key}.app`);
  if (app && !appNames.includes(app)) {
    v.problem(`${key}.app`, `"${app}" is not defined under "apps" (defined: ${appNames.join(', ') || 'none'})`, 'use one of the names under "apps"');
  }
  if (!passwordHash || !mailbox || !app) return undefined;
  const auth = (raw.auth ?? 'app') as AccountAuth;
  const smtpVia = (raw.smtpVia ?? 'smtp') as SmtpVia;
  if (auth === 'delegated' && smtpVia !== 'smtp') {
    v.problem(`${key}.smtpVia`, `"${smtpVia}" needs app-only access to Microsoft Graph, and this account signs in as a person (auth "delegated")`, 'remove smtpVia (a delegated account sends with SMTP AUTH), or use auth "app" with Mail.Send granted to the app');
  }
  // The schema checked the list, auth and smtpVia, and filled in their defaults (all three; "app"; "smtp").
  return { username, passwordHash, mailbox, app, protocols: raw.protocols as Protocol[], auth, smtpVia };
}

/**
 * Per app name, the accounts that get app-only tokens through it, read before the apps are
 * checked. An app no account uses delegated is listed too (with no users): unused, it is still
 * checked as a confidential client.
 */
export function appOnlyUsers(value: unknown, appNames: readonly string[]): Map<string, string[]> {
  const accounts = Object.entries(asObject(value) ?? {}).map(([username, raw]) => ({ username, app: asObject(raw)?.app, auth: asObject(raw)?.auth }));
  const users = new Map<string, string[]>();
  for (const app of appNames) {
    const using = accounts.filter((a) => a.app === app);
    if (!using.some((a) => a.auth === 'delegated')) users.set(app, []);
    const appOnly = using.filter((a) => a.auth !== 'delegated').map((a) => a.username);
    if (appOnly.length > 0) users.set(app, appOnly);
  }
  return users;
}
