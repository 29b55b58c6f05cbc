import cluster from 'node:cluster';
import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startAdminServer } from '../listen/admin.js';
import { loadConfig } from '../config/load.js';
import { groupId } from '../config/file-access.js';
import type { StartFlags } from './start-flags.js';
import { stopOnSignals } from './stop.js';
import { createLogger } from '../ops/log.js';
import { keepTokensWarm } from '../auth/token-warmup.js';
import { hashPassword } from '../config/password-hash.js';
import { Secret } from '../config/secret.js';
import { startProxy } from '../listen/proxy.js';
import { promptHidden, readStdin } from './prompt.js';
import { reloadFromFile } from './reload.js';
import { watchConfigFile } from './config-watch.js';
import { UsageError } from './usage-error.js';
import type { DoctorOptions } from '../doctor/run.js';

export type { LogFlags, StartFlags } from './start-flags.js';
export { stopOnSignals } from './stop.js';

export async function startCommand(configPath: string, flags: StartFlags): Promise<void> {
  // Several workers (the workers key): loaded only then, one process needs none of it.
  if (cluster.isWorker) return (await import('./cluster-worker.js')).runWorker(configPath, flags);
  const config = loadConfig(configPath);
  if (config.workers > 1) return (await import('./cluster-primary.js')).runPrimary(configPath, flags, config);
  const log = createLogger({ level: flags.level ?? config.log.level, format: flags.format ?? config.log.format });
  const proxy = await startProxy(config, log);
  const admin = config.admin ? await startAdminServer(proxy, config.admin, log) : undefined;
  log.info({ event: 'ready', config: resolve(configPath) }, 'o365-mail-proxy is ready');
  let tokens = keepTokensWarm(proxy.context(), log);
  stopOnSignals(proxy, log, async () => {
    tokens.stop();
    await new Promise((done) => (admin ? admin.close(done) : done(undefined)));
  });
  // SIGHUP: read the config again; a broken one is refused and the running one kept. New apps
  // or secrets: ask for their tokens at once (and again in the background until they come).
  const reload = (trigger: 'SIGHUP' | 'file-change') => {
    if (!reloadFromFile(proxy, configPath, log, trigger)) return;
    tokens.stop();
    tokens = keepTokensWarm(proxy.context(), log);
  };
  process.on('SIGHUP', () => reload('SIGHUP'));
  if (flags.watchConfig) {
    watchConfigFile(configPath, () => reload('file-change'));
    log.info({ event: 'config.watching', config: resolve(configPath) }, 'reloading when the config file changes');
  }
}

const NON_ASCII_PASSWORD_NOTE = [
  'note: this password has characters outside printable ASCII. IMAP and POP3 clients may send it',
  'in UTF-8 or Latin-1, both work. Over SMTP AUTH it must arrive in UTF-8: javax.mail before 1.6',
  '(old Talend jobs) sends Latin-1 there and would be refused. An ASCII-only password avoids this.',
  '',
].join('\n');

export async function hashPasswordCommand(): Promise<void> {
  // One trailing newline is what `echo` adds; everything else (spaces included) is the password.
  const password = process.stdin.isTTY ? await askPasswordTwice() : new Secret((await readStdin()).replace(/\r?\n$/, ''));
  if (password.isEmpty) throw new UsageError('the password is empty');
  // stdout carries only the hash (scripts capture it); the note goes to stderr.
  if (/[^\x20-\x7e]/.test(password.reveal())) process.stderr.write(NON_ASCII_PASSWORD_NOTE);
  process.stdout.write(`${await hashPassword(password)}\n`);
}

const PASSWORD_TRIES = 3;

/** On a terminal: the same password typed twice; an empty one or a mismatch asks again. */
async function askPasswordTwice(): Promise<Secret> {
  for (let attempt = 1; attempt <= PASSWORD_TRIES; attempt++) {
    const password = await promptHidden('Password: ');
    if (password.isEmpty) {
      process.stderr.write('The password is empty; type one.\n');
      continue;
    }
    const again = await promptHidden('Repeat: ');
    if (again.reveal() === password.reveal()) return password;
    process.stderr.write('The two passwords differ; once more.\n');
  }
  throw new UsageError(`no password typed the same twice in ${PASSWORD_TRIES} tries`);
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

export { UsageError } from './usage-error.js';
