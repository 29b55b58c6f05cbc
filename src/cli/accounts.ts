import type { AccountConfig } from '../config/types.js';
import { readAccountsAndListeners } from './config-parts.js';

/** What `accounts --json` prints per account: no password hash, nothing secret. */
export interface AccountRow {
  username: string;
  mailbox: string;
  app: string;
  protocols: string[];
}

export function accountRows(accounts: Iterable<AccountConfig>): AccountRow[] {
  return [...accounts]
    .map((a) => ({ username: a.username, mailbox: a.mailbox, app: a.app, protocols: [...a.protocols] }))
    .sort((a, b) => a.username.localeCompare(b.username));
}

/** Columns padded to their widest cell, two spaces apart: readable, and easy to cut or grep. */
export function renderTable(rows: AccountRow[]): string {
  const cells = [['ACCOUNT', 'MAILBOX', 'APP', 'PROTOCOLS'], ...rows.map((r) => [r.username, r.mailbox, r.app, r.protocols.join(',')])];
  const widths = cells[0]!.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  return cells.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n') + '\n';
}

export async function accountsCommand(configPath: string, json: boolean): Promise<void> {
  const rows = accountRows(readAccountsAndListeners(configPath).accounts.values());
  process.stdout.write(json ? `${JSON.stringify(rows, null, 2)}\n` : renderTable(rows));
}
