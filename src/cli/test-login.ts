import type { ListenerConfig, Protocol } from '../config/types.js';
import { readAccountsAndListeners } from './config-parts.js';
import { promptHidden, readStdin } from './prompt.js';
import { imapSteps } from './probe/imap.js';
import { pop3Steps } from './probe/pop3.js';
import { smtpSteps } from './probe/smtp.js';
import { runSteps, type ProbeSession, type Step, type StepResult } from './probe/steps.js';
import { UsageError } from './usage-error.js';

const STEPS: Record<Protocol, (session: ProbeSession) => Step[]> = { imap: imapSteps, pop3: pop3Steps, smtp: smtpSteps };

export interface LoginFilter {
  protocol?: Protocol;
  port?: number;
}

/** The listeners to try: those serving one of the account's protocols, narrowed by the options. */
export function listenersToTry(listeners: readonly ListenerConfig[], protocols: readonly Protocol[], filter: LoginFilter): ListenerConfig[] {
  return listeners.filter((l) => protocols.includes(l.protocol) && (!filter.protocol || l.protocol === filter.protocol) && (filter.port === undefined || l.port === filter.port));
}

/**
 * Logs in to each chosen listener of the running proxy as `account`, the way a legacy client
 * would, and prints every step. Returns the exit code: 0 only when every login worked.
 */
export async function testLoginCommand(configPath: string, accountName: string, filter: LoginFilter): Promise<number> {
  const { accounts, listeners, localCertificate } = readAccountsAndListeners(configPath);
  const account = accounts.get(accountName.toLowerCase());
  if (!account) throw new UsageError(`no account "${accountName}" in ${configPath} (accounts: ${[...accounts.values()].map((a) => a.username).join(', ') || 'none'})`);
  if (filter.protocol && !account.protocols.includes(filter.protocol)) {
    throw new UsageError(`${account.username} may not use ${filter.protocol} (accounts.${account.username}.protocols: ${account.protocols.join(', ')})`);
  }
  const chosen = listenersToTry(listeners, account.protocols, filter);
  if (chosen.length === 0) throw new UsageError(noListenerMessage(account.username, account.protocols, filter));

  const password = await readPassword(account.username);
  let failed = 0;
  for (const listener of chosen) {
    process.stdout.write(`${account.username} over ${listener.protocol} at ${listener.host}:${listener.port} (tls: ${listener.tls})\n`);
    if (listener.port === 0) {
      process.stdout.write('  ✗ connect  the config says port 0 (any free port): the port the proxy took is in its log ("listening" lines); pass it with --port\n');
      failed++;
      continue;
    }
    const session: ProbeSession = { listener, username: account.username, password, ...(localCertificate ? { localCertificate } : {}) };
    const ok = await runSteps(STEPS[listener.protocol](session), printStep);
    session.connection?.close();
    if (!ok) failed++;
  }
  const total = chosen.length;
  process.stdout.write(failed === 0
    ? `\n${account.username} logged in through ${total === 1 ? 'the listener' : `all ${total} listeners`}\n`
    : `\n${failed} of ${total} logins failed. The proxy's log tells why (events auth.fail, token.fail); "o365-mail-proxy doctor --account ${account.username}" checks the Exchange side\n`);
  return failed === 0 ? 0 : 1;
}

function printStep(result: StepResult): void {
  const time = result.ms >= 100 ? ` (${(result.ms / 1000).toFixed(1)} s)` : '';
  process.stdout.write(`  ${result.ok ? '✓' : '✗'} ${result.name.padEnd(12)} ${result.detail}${time}\n`);
}

/** On a terminal, asked without echo; otherwise stdin, one trailing newline removed (as hash-password). */
async function readPassword(username: string): Promise<Buffer> {
  const text = process.stdin.isTTY ? (await promptHidden(`Local password of ${username}: `)).reveal() : (await readStdin()).replace(/\r?\n$/, '');
  if (text === '') throw new UsageError('the password is empty');
  return Buffer.from(text, 'utf8');
}

function noListenerMessage(username: string, protocols: readonly Protocol[], filter: LoginFilter): string {
  const narrowed = [filter.protocol && `--protocol ${filter.protocol}`, filter.port !== undefined && `--port ${filter.port}`].filter(Boolean).join(' and ');
  return `no listener in the config serves ${username} (protocols: ${protocols.join(', ')})${narrowed ? ` with ${narrowed}` : ''}`;
}
