import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';
import { hashPassword } from '../../src/config/password-hash.js';
import { Secret } from '../../src/config/secret.js';
import type { Protocol } from '../../src/config/types.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { CLI } from './cli.js';
import { FAST_HASH_PARAMS, tempDir } from './config.js';

export const MAILBOX = 'invoices@contoso.test';
export const PASSWORD = 'right password';

export interface LogEntry {
  event?: string;
  worker?: number;
  /** The worker a primary's line is about. */
  workerId?: number;
  workerPid?: number;
  proto?: string;
  port?: number;
  user?: string;
  reason?: string;
  level: number;
  [key: string]: unknown;
}

/** `o365-mail-proxy start` (the built CLI) as a service runs it, against an in-process sandbox. */
export interface Instance {
  sandbox: Sandbox;
  child: ChildProcess;
  ports: Record<Protocol | 'admin', number>;
  configPath: string;
  /** The app's client secret, as the config has it (to look for it where it must not be). */
  clientSecret: string;
  /** Writes the config again: `accounts` maps usernames to passwords. */
  writeConfig(accounts: Record<string, string>): Promise<void>;
  /** Every JSON log line so far, parsed. */
  entries(): LogEntry[];
  output(): string;
  exited: Promise<number | null>;
}

/**
 * Starts sandbox and proxy (IMAP, POP3, SMTP and admin listeners on port 0); `config` is merged
 * into the top level and clients; `args` go to `start`; `program`: what runs the proxy (the built
 * CLI under this Node by default, or an installed executable).
 */
export async function startInstance(config: { workers?: number | string; clients?: Record<string, unknown> } = {}, args: string[] = [], program: string[] = [process.execPath, CLI]): Promise<Instance> {
  const sandbox = await startSandbox();
  const app = sandbox.registerApp({});
  sandbox.addMailbox(MAILBOX);
  sandbox.addMailbox('ap@contoso.test');
  sandbox.grantFullAccess(MAILBOX, app.objectId);
  const dir = tempDir({ 'ca.pem': sandbox.caPem });
  const configPath = join(dir, 'config.json');
  const writeConfig = async (accounts: Record<string, string>) => {
    const entries = await Promise.all(Object.entries(accounts).map(async ([name, password]) => [name, { passwordHash: await hashPassword(new Secret(password), FAST_HASH_PARAMS), mailbox: MAILBOX, app: 'contoso' }]));
    writeFileSync(configPath, JSON.stringify({
      apps: { contoso: { tenantId: sandbox.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, authorityHost: sandbox.authorityHost } },
      accounts: Object.fromEntries(entries),
      listeners: [{ protocol: 'imap', port: 0 }, { protocol: 'pop3', port: 0 }, { protocol: 'smtp', port: 0 }],
      upstream: { imap: sandbox.imap, pop3: sandbox.pop3, smtp: sandbox.smtp, caFile: 'ca.pem' },
      admin: { port: 0 },
      workers: config.workers ?? 2,
      clients: { failedLoginDelayMs: 0, ...config.clients },
    }));
  };
  await writeConfig({ talend: PASSWORD });
  let output = '';
  const [command, ...before] = program as [string, ...string[]];
  const child = spawn(command, [...before, 'start', '--config', configPath, '--log-format', 'json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const entries = () => output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogEntry);
  // The workers write their lines themselves, asynchronously: the primary's "ready" may come first.
  const listening = (proto: string) => entries().some((e) => e.event === 'listening' && e.proto === proto);
  await vi.waitFor(() => {
    const up = entries().some((e) => e.event === 'ready') && ['imap', 'pop3', 'smtp'].every(listening);
    if (!up && child.exitCode === null) throw new Error(`not ready yet:\n${output}`);
  }, { timeout: 30_000, interval: 50 });
  const port = (event: string, proto?: string) => entries().find((e) => e.event === event && e.proto === proto)?.port ?? 0;
  const ports = { imap: port('listening', 'imap'), pop3: port('listening', 'pop3'), smtp: port('listening', 'smtp'), admin: port('admin.listening') };
  return { sandbox, child, ports, configPath, clientSecret: app.clientSecret!, writeConfig, entries, output: () => output, exited };
}

/** Waits until the log has a line that `match` accepts; returns the lines it accepts. */
export async function waitForLog(instance: Instance, match: (entry: LogEntry) => boolean, count = 1): Promise<LogEntry[]> {
  let found: LogEntry[] = [];
  await vi.waitFor(() => {
    found = instance.entries().filter(match);
    if (found.length < count) throw new Error(`${found.length} of ${count} log lines yet:\n${instance.output()}`);
  }, { timeout: 20_000, interval: 50 });
  return found;
}

const PYCLIENT = fileURLToPath(new URL('../clients/pyclient.py', import.meta.url));

/** One of Python's standard-library mail clients against the instance (pyclient.py). */
export function python(instance: Pick<Instance, 'ports'>, request: Record<string, unknown> & { client: Protocol }): Promise<Record<string, any>> {
  const full = { host: '127.0.0.1', port: instance.ports[request.client], tls: 'none', ca: '', user: 'talend', password: PASSWORD, ...request };
  return new Promise((resolve, reject) => {
    const child = execFile('python3', [PYCLIENT], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`pyclient failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as Record<string, any>);
    });
    child.stdin!.end(JSON.stringify(full));
  });
}
