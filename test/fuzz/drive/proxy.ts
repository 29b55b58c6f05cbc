import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSelfSignedCertificate } from '../../../src/ops/self-signed-certificate.js';
import { hashPassword } from '../../../src/config/password-hash.js';
import { startSandbox, type Sandbox } from '../../../src/sandbox/index.js';
import { Secret } from '../../../src/config/secret.js';
import type { Credentials, ListenerKind, Protocol } from '../generate/script.js';
import { LogWatch } from '../oracle/log.js';
import type { RssSample } from '../oracle/memory.js';

/** The built proxy, found from here whether this runs as TypeScript (vitest) or from .fuzz-build. */
export const CLI = join(repoRoot(dirname(fileURLToPath(import.meta.url))), 'dist', 'cli.js');

function repoRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) if (existsSync(join(dir, 'package.json'))) return dir;
  throw new Error(`no package.json above ${from}`);
}

/** Spaces, quotes, a backslash and non-ASCII: the password that breaks naive quoting. */
export const CREDENTIALS: Credentials = { user: 'talend', password: 'fz p ä"ss\\wörd 7', mailbox: 'invoices@contoso.test', recipient: 'fuzz-inbox@contoso.test' };
/** Cheap on purpose (ln=10): the fuzzer measures the protocol fronts, not scrypt. */
const HASH_PARAMS = { ln: 10, r: 8, p: 1 };

export interface ProxyUnderTest {
  pid: number;
  port(protocol: Protocol, listener: ListenerKind): number;
  sandbox: Sandbox;
  log: LogWatch;
  /** The proxy's RSS over time, and its peak as the kernel counted it (VmHWM). */
  samples: RssSample[];
  peakKiB(): Promise<number>;
  /** The highest RSS sampled since `since` (Date.now() time), in MiB. */
  maxRssMiBSince(since: number): number;
  /** CPU seconds the proxy used so far (user + system). */
  cpuSeconds(): number;
  /** File descriptors the proxy holds now (undefined where there is no /proc). */
  openFiles(): number | undefined;
  /** The same, once it was ready, before any client connected. */
  openFilesAtStart: number | undefined;
  /** Set when the process ended without being asked to. */
  crash(): string | undefined;
  stop(): Promise<void>;
}

/**
 * `o365-mail-proxy start` as a separate process, with a config pointing at a sandbox that runs
 * here: a crash or a heap blow-up of the proxy is seen from outside, as an operator would.
 */
export interface ProxyOptions {
  /** clients.maxConnections: just above what the fuzzer opens at once (see runFuzz). */
  maxConnections?: number;
  /** Settings merged into the config: top-level keys replace, `clients` keys are merged. */
  configOverrides?: Record<string, unknown>;
  sampleEveryMs?: number;
  /** Keep everything the proxy writes in this file. */
  logFile?: string;
}

export async function startProxyUnderTest(options: ProxyOptions = {}): Promise<ProxyUnderTest> {
  const sandbox = await startSandbox();
  const app = sandbox.registerApp({});
  sandbox.addMailbox(CREDENTIALS.mailbox);
  sandbox.addMailbox(CREDENTIALS.recipient);
  sandbox.grantFullAccess(CREDENTIALS.mailbox, app.objectId);
  const dir = mkdtempSync(join(process.env.O365P_TEST_TMP ?? tmpdir(), 'o365p-fuzz-'));
  const cert = await generateSelfSignedCertificate();
  writeFileSync(join(dir, 'local.crt'), cert.certPem);
  writeFileSync(join(dir, 'local.key'), cert.keyPem);
  writeFileSync(join(dir, 'sandbox-ca.pem'), sandbox.caPem);
  writeFileSync(join(dir, 'client-secret.txt'), app.clientSecret!);
  const config = {
    apps: { contoso: { tenantId: sandbox.tenantId, clientId: app.clientId, clientSecret: '${file:client-secret.txt}', authorityHost: sandbox.authorityHost } },
    accounts: { [CREDENTIALS.user]: { passwordHash: await hashPassword(new Secret(CREDENTIALS.password), HASH_PARAMS), mailbox: CREDENTIALS.mailbox, app: 'contoso' } },
    listeners: (['imap', 'pop3', 'smtp'] as const).flatMap((protocol) => (['none', 'starttls', 'implicit'] as const).map((tls) => ({ protocol, port: 0, tls }))),
    tls: { certFile: 'local.crt', keyFile: 'local.key' },
    upstream: { imap: sandbox.imap, pop3: sandbox.pop3, smtp: sandbox.smtp, caFile: 'sandbox-ca.pem' },
    log: { level: 'info', format: 'json' },
    // Every other limit keeps its default. The failure delay doubles per failure of a username
    // from an address (up to 15 s): with its default base (1 s) a fuzzer that fails thousands of
    // logins would spend its time asleep. 1 ms keeps the path and the doubling (a locked pair
    // waits 2^9 ms), at a pace that lets a million inputs through. clients.maxConnections sits
    // just above what the fuzzer opens at once, so a connection the proxy forgets to count out
    // shows within a few hundred connections (a "too many connections" answer is a failure).
    clients: { failedLoginDelayMs: 1, ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}), ...(options.configOverrides?.clients as object | undefined) },
    ...Object.fromEntries(Object.entries(options.configOverrides ?? {}).filter(([key]) => key !== 'clients')),
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));

  const log = new LogWatch({ password: CREDENTIALS.password, 'SASL PLAIN payload': `\0${CREDENTIALS.user}\0${CREDENTIALS.password}`, 'client secret': app.clientSecret! });
  const child = spawn(process.execPath, [CLI, 'start', '--config', join(dir, 'config.json'), '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // A fuzzer that is stopped (Ctrl-C, a timeout) takes its proxy with it.
  const orphan = () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', orphan);
  const listening = new Map<string, number>();
  let exit: string | undefined;
  let stopping = false;
  let tail = '';
  const keep = options.logFile ? createWriteStream(options.logFile) : undefined;
  const ready = watchOutput(child, log, listening, (text) => {
    tail = (tail + text).slice(-4000);
    keep?.write(text);
  });
  child.once('close', () => keep?.end());
  child.once('exit', (code, signal) => {
    if (!stopping) exit = `the proxy exited (code ${code}, signal ${signal}); its last output:\n${tail}`;
  });
  try {
    await ready;
  } catch (error) {
    child.kill('SIGKILL');
    await sandbox.close();
    throw new Error(`${(error as Error).message}\n${tail}`);
  }

  const samples: RssSample[] = [];
  const started = Date.now();
  const sampler = setInterval(() => void readRss(child.pid!).then((rss) => rss && samples.push({ atMs: Date.now() - started, rssKiB: rss.rssKiB })), options.sampleEveryMs ?? 100);
  return {
    pid: child.pid!,
    port(protocol, listener) {
      const port = listening.get(`${protocol}/${listener}`);
      if (!port) throw new Error(`no ${protocol}/${listener} listener`);
      return port;
    },
    sandbox,
    log,
    samples,
    peakKiB: async () => (await readRss(child.pid!))?.peakKiB ?? 0,
    maxRssMiBSince(since) {
      let max = 0;
      for (let i = samples.length - 1; i >= 0 && samples[i]!.atMs >= since - started - 100; i--) max = Math.max(max, samples[i]!.rssKiB);
      return max / 1024;
    },
    cpuSeconds: () => readCpuSeconds(child.pid!),
    openFiles: () => countOpenFiles(child.pid!),
    openFilesAtStart: countOpenFiles(child.pid!),
    crash: () => exit,
    async stop() {
      clearInterval(sampler);
      stopping = true;
      process.off('exit', orphan);
      const exited = new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once('exit', resolve)));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
      log.end();
      await sandbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Feeds the output to the log watch; resolves once the proxy logged `ready`. */
function watchOutput(child: ChildProcess, log: LogWatch, listening: Map<string, number>, keep: (text: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the proxy did not log "ready" within 20 s')), 20_000);
    let startup = '';
    const onText = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      keep(text);
      log.push(text);
      if (timer.hasRef() && startup.length < 100_000) {
        startup += text;
        for (const match of startup.matchAll(/"event":"listening","proto":"(\w+)","host":"[^"]*","port":(\d+),"tls":"(\w+)"/g)) listening.set(`${match[1]}/${match[3]}`, Number(match[2]));
        if (startup.includes('"event":"ready"')) {
          clearTimeout(timer);
          timer.unref();
          resolve();
        }
      }
    };
    child.stdout!.on('data', onText);
    child.stderr!.on('data', onText);
    child.once('exit', (code) => reject(new Error(`the proxy exited during startup (code ${code})`)));
  });
}

/** VmRSS and VmHWM from /proc where there is one, else `ps` (RSS only). */
async function readRss(pid: number): Promise<{ rssKiB: number; peakKiB: number } | undefined> {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    const peak = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
    return Number.isFinite(rss) ? { rssKiB: rss, peakKiB: Number.isFinite(peak) ? peak : rss } : undefined;
  } catch {
    return new Promise((resolve) => execFile('ps', ['-o', 'rss=', '-p', String(pid)], (error, stdout) => {
      const rss = Number(stdout.trim());
      resolve(error || !rss ? undefined : { rssKiB: rss, peakKiB: rss });
    }));
  }
}

/** utime + stime from /proc/<pid>/stat, in seconds (0 where there is no /proc). */
function readCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function countOpenFiles(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}
