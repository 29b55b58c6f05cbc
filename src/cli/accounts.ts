import type { AccountConfig } from '../config/types.js';
import { SignInStore, SignInStoreError } from '../tokens/signin-store.js';
import { readAccountsAndListeners } from './config-parts.js';

/** What `accounts --json` prints per account: no password hash, nothing secret. */
export interface AccountRow {
  username: string;
  mailbox: string;
  app: string;
  protocols: string[];
  /** How mail from its SMTP clients leaves (accounts that may use SMTP). */
  smtpVia?: AccountConfig['smtpVia'];
  auth: 'app' | 'delegated';
  /**
   * Delegated accounts: whether a sign-in is stored ("stored", "none", "unreadable"), when it was
   * last renewed, and why the proxy's last renewal failed for good, if it did.
   */
  signIn?: { state: 'stored' | 'none' | 'unreadable'; renewedAt?: string; lastFailure?: string };
}

/** `store`: where delegated sign-ins are; only their clear renewal time is read, no secret is needed. */
export function accountRows(accounts: Iterable<AccountConfig>, store?: SignInStore): AccountRow[] {
  return [...accounts]
    .map((a) => ({ username: a.username, mailbox: a.mailbox, app: a.app, protocols: [...a.protocols], ...(a.protocols.includes('smtp') ? { smtpVia: a.smtpVia } : {}), auth: a.auth, ...(a.auth === 'delegated' && store ? { signIn: signInOf(store, a.username) } : {}) }))
    .sort((a, b) => a.username.localeCompare(b.username));
}

function signInOf(store: SignInStore, username: string): NonNullable<AccountRow['signIn']> {
  try {
    const sealed = store.readSealed(username);
    return { state: 'stored', renewedAt: sealed.renewedAt, ...(sealed.lastFailure ? { lastFailure: sealed.lastFailure.cause } : {}) };
  } catch (error) {
    return { state: error instanceof SignInStoreError && error.failure.kind === 'missing' ? 'none' : 'unreadable' };
  }
}

function signInCell(row: AccountRow): string {
  if (!row.signIn) return '-';
  if (row.signIn.lastFailure) return `failed: ${row.signIn.lastFailure}`;
  if (row.signIn.state === 'stored') return `renewed ${row.signIn.renewedAt}`;
  return row.signIn.state === 'none' ? `none: run o365-mail-proxy login ${row.username}` : 'unreadable: run o365-mail-proxy login again';
}

/** Columns padded to their widest cell, two spaces apart: readable, and easy to cut or grep. */
export function renderTable(rows: AccountRow[]): string {
  const cells = [['ACCOUNT', 'MAILBOX', 'APP', 'PROTOCOLS', 'SMTP VIA', 'AUTH', 'SIGN-IN'], ...rows.map((r) => [r.username, r.mailbox, r.app, r.protocols.join(','), r.smtpVia ?? '-', r.auth, signInCell(r)])];
  const widths = cells[0]!.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  return cells.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n') + '\n';
}

export async function accountsCommand(configPath: string, json: boolean): Promise<void> {
  const { accounts, tokenStoreDir } = readAccountsAndListeners(configPath);
  const rows = accountRows(accounts.values(), new SignInStore(tokenStoreDir));
  process.stdout.write(json ? `${JSON.stringify(rows, null, 2)}\n` : renderTable(rows));
}
