import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startAdminServer } from '../listen/admin.js';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../config/validate.js';
import { groupId } from '../config/file-access.js';
import type { LogLevel } from '../config/types.js';
import { createLogger, type Logger } from '../ops/log.js';
import { checkTokensAtStart } from '../auth/login.js';
import { hashPassword } from '../config/password-hash.js';
import { Secret } from '../config/secret.js';
import { startProxy, type RunningProxy } from '../listen/proxy.js';
import { COMMAND_TIMEOUT_MS } from '../upstream/smtp-client.js';
import { promptHidden, readStdin } from './prompt.js';
import type { DoctorOptions } from '../doctor/run.js';

export interface LogFlags {
  level?: LogLevel;
  format?: 'auto' | 'json' | 'pretty';
}

export async function startCommand(configPath: string, flags: LogFlags): Promise<void> {
  const config = loadConfig(configPath);
  const log = createLogger({ level: flags.level ?? config.log.level, format: flags.format ?? config.log.format });
  const proxy = await startProxy(config, log);
  const admin = config.admin ? await startAdminServer(proxy, config.admin, log) : undefined;
  log.info({ event: 'ready', config: resolve(configPath) }, 'o365-mail-proxy is ready');
  void checkTokensAtStart(proxy.context(), log);
  stopOnSignals(proxy, log, async () => {
    await new Promise((done) => (admin ? admin.close(done) : done(undefined)));
  });
  // SIGHUP: read the config again; a broken one is refused and the running one kept.
  process.on('SIGHUP', () => {
    try {
      proxy.reload(loadConfig(configPath));
      void checkTokensAtStart(proxy.context(), log);
    } catch (error) {
      const problems = error instanceof ConfigError ? error.problems.map((p) => `${p.key}: ${p.problem}`) : [(error as Error).message];
      log.error({ event: 'reload.rejected', problems }, 'new configuration rejected; keeping the running one');
    }
  });
}

/**
 * The last resort if closing hangs. Closing is bounded by itself: sessions get a 5 s grace,
 * except an SMTP message whose final dot went to Exchange, which waits for Exchange's verdict
 * as long as any end of message may take (RFC 5321's 10 minutes); cutting it would make the
 * client send the message again.
 */
const STOP_GUARD_MS = COMMAND_TIMEOUT_MS + 30_000;

/**
 * SIGTERM/SIGINT: stop accepting, say goodbye to sessions (IMAP BYE, SMTP transactions get
 * a bounded time to finish), then exit 0. A second signal ends it at once.
 */
export function stopOnSignals(proxy: RunningProxy, log: Logger, extra: () => Promise<void> = async () => {}): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(0);
    stopping = true;
    log.info({ event: 'shutdown', signal, sessions: proxy.activeSessions() }, 'shutting down');
    setTimeout(() => process.exit(0), STOP_GUARD_MS).unref();
    Promise.all([proxy.close(), extra()]).then(() => {
      log.info({ event: 'stopped' }, 'stopped');
      log.flush();
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

const NON_ASCII_PASSWORD_NOTE = [
  'note: this password has characters outside printable ASCII. IMAP and POP3 clients may send it',
  'in UTF-8 or Latin-1, both work. Over SMTP AUTH it must arrive in UTF-8: javax.mail before 1.6',
  '(old Talend jobs) sends Latin-1 there and would be refused. An ASCII-only password avoids this.',
  '',
].join('\n');

export async function hashPasswordCommand(): Promise<void> {
  let password: Secret;
  if (process.stdin.isTTY) {
    password = await promptHidden('Password: ');
    const again = await promptHidden('Repeat: ');
    if (again.reveal() !== password.reveal()) throw new UsageError('the two passwords differ');
  } else {
    // One trailing newline is what `echo` adds; everything else (spaces included) is the password.
    password = new Secret((await readStdin()).replace(/\r?\n$/, ''));
  }
  if (password.isEmpty) throw new UsageError('the password is empty');
  // stdout carries only the hash (scripts capture it); the note goes to stderr.
  if (/[^\x20-\x7e]/.test(password.reveal())) process.stderr.write(NON_ASCII_PASSWORD_NOTE);
  process.stdout.write(`${await hashPassword(password)}\n`);
}

export async function genCertCommand(outDir: string, hosts: string[], force: boolean, group?: string): Promise<void> {
  const dir = resolve(outDir);
  const certFile = join(dir, 'localhost.crt');
  const keyFile = join(dir, 'localhost.key');
  if (!force && (existsSync(certFile) || existsSync(keyFile))) {
    throw new UsageError(`${certFile} or its key already exists; pass --force to replace them`);
  }
  const gid = group === undefined ? undefined : groupId(group);
  if (group !== undefined && gid === undefined) throw new UsageError(`--group: there is no group "${group}" on this system; give a group name or number`);
  // Loaded here, not at the top: @peculiar/x509 takes half a second and ~20 MB to load and
  // patches the global Reflect (reflect-metadata); the running proxy never needs it.
  const { generateSelfSignedCertificate, subjectAltNames } = await import('../ops/self-signed-certificate.js');
  const names = [...hosts, 'localhost'];
  const addresses = ['127.0.0.1', '::1'];
  const sans = subjectAltNames([...names, ...addresses]);
  if (sans.invalid.length > 0) throw new UsageError(`--host ${sans.invalid.join(', ')}: not a DNS name or an IP address`);
  const { certPem, keyPem } = await generateSelfSignedCertificate(names, addresses);
  mkdirSync(dir, { recursive: true });
  writeFileSync(certFile, certPem);
  writeFileSync(keyFile, keyPem, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  if (gid !== undefined) shareKeyWithGroup(keyFile, gid, group!);
  const access = gid === undefined ? 'readable only by its owner (mode 0600; for a service running as another user, add --group)' : `readable by its owner and group ${group} (mode 0640)`;
  process.stdout.write(`wrote ${certFile}\nwrote ${keyFile}, ${access}\nDNS names: ${sans.dns.join(', ')}\nIP addresses: ${sans.ips.join(', ')}\n`);
}

/** The service's group may read the key, nobody else: chgrp first, then 0640, so it is never readable by the wrong group. */
function shareKeyWithGroup(keyFile: string, gid: number, group: string): void {
  try {
    chownSync(keyFile, -1, gid);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`--group ${group}: cannot give ${keyFile} to that group (${code}); only root, or an owner who is in that group, can. The key stays readable only by you`);
  }
  chmodSync(keyFile, 0o640);
}

/** Prints the doctor's checklist (or JSON); returns the exit code: 0 only when all checks pass. */
export async function doctorCommand(options: DoctorOptions, json: boolean): Promise<number> {
  // Loaded on demand, like gen-cert and demo: `start` loads only what the proxy runs on.
  const [{ runDoctor }, { renderChecklist, renderJson }] = await Promise.all([import('../doctor/run.js'), import('../doctor/report.js')]);
  const findings = await runDoctor(options);
  process.stdout.write(json ? renderJson(findings) : renderChecklist(findings, process.stdout.isTTY === true));
  return findings.every((f) => f.ok) ? 0 : 1;
}

/** An error in how the command was called: printed without a stack trace. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
