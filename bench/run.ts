/**
 * npm run bench — what the proxy costs a client, measured the way a user meets it: the
 * measuring clients (client.ts, one process per measurement), the proxy (the built CLI,
 * `start`) and a fast upstream (fast-upstream.ts, serving from memory) each run in a process
 * of their own, on loopback. Every figure is taken straight from the upstream ("direct") and
 * through the proxy, alternating within each round (the order rotates), so load from other
 * work on the machine falls on both; each figure is the median of BENCH_ROUNDS rounds
 * (default 5, at least 3). Then 9,900 idle sessions are held through a fresh proxy process, and
 * 15,000 through a second instance with `workers: 2` (worker-sessions.ts). Prints a
 * Markdown table and, last, one JSON line. Linux only (/proc, bash's ulimit).
 * BENCH_PROXY_PROFILE=<dir>: the proxy writes a V8 CPU profile there when the bench ends.
 *
 * The sandbox's Entra ID, in this process, issues the proxy's token (and counts requests);
 * the fast upstream accepts any XOAUTH2 and checks nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSelfSignedCertificate } from '../src/ops/self-signed-certificate.js';
import { hashPassword } from '../src/config/password-hash.js';
import { Secret } from '../src/config/secret.js';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import type { Setup, Task } from './client.js';
import { render, summarize } from './figures.js';
import { idleSessions } from './idle-sessions.js';
import { holdClient, memory, runClient, startProxyProcess, startUpstream, stopProxyProcess } from './processes.js';
import { measure, PIPE_BYTES, warmUp, type TargetOf } from './rounds.js';
import { renderWorkerSessions, workerSessions } from './worker-sessions.js';

const ROUNDS = Math.max(3, Number(process.env.BENCH_ROUNDS ?? 5));
const IDLE_SESSIONS = 9900;

const setup = (dir: string): Setup => ({ caFile: join(dir, 'cert.pem'), username: 'bench', password: 'bench-password', mailbox: 'bench@contoso.test' });

/** The proxy's config: every protocol on a plain and an implicit-TLS listener, the fast upstream. */
async function writeConfig(dir: string, sandbox: Sandbox, upstream: { imap: number; pop3: number; smtp: number }): Promise<string> {
  const app = sandbox.registerApp({});
  const { username, password, mailbox } = setup(dir);
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({
    apps: { bench: { tenantId: sandbox.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, authorityHost: sandbox.authorityHost } },
    accounts: { [username]: { passwordHash: await hashPassword(new Secret(password)), mailbox, app: 'bench' } },
    listeners: ['imap', 'pop3', 'smtp'].flatMap((protocol) => [{ protocol, port: 0, tls: 'none' }, { protocol, port: 0, tls: 'implicit' }]),
    // Every session comes from 127.0.0.1, and 9,900 at once are measured.
    clients: { maxConnections: 20_000, maxConnectionsPerAddress: 0 },
    tls: { certFile: 'cert.pem', keyFile: 'key.pem' },
    upstream: {
      imap: { host: '127.0.0.1', port: upstream.imap },
      pop3: { host: '127.0.0.1', port: upstream.pop3 },
      smtp: { host: '127.0.0.1', port: upstream.smtp },
      caFile: 'ca.pem',
      // One mailbox for every measurement: Exchange's per-mailbox caps do not apply here.
      maxSessionsPerMailbox: { imap: 0, pop3: 0, smtp: 0 },
    },
  }));
  return file;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'o365p-bench-'));
  const cert = await generateSelfSignedCertificate();
  writeFileSync(join(dir, 'cert.pem'), cert.certPem);
  writeFileSync(join(dir, 'key.pem'), cert.keyPem);
  const upstream = await startUpstream(join(dir, 'cert.pem'), join(dir, 'key.pem'), PIPE_BYTES);
  const sandbox = await startSandbox();
  // One CA file for the proxy's way out: the fast upstream's certificate and the sandbox's CA.
  writeFileSync(join(dir, 'ca.pem'), `${cert.certPem}\n${sandbox.caPem}`);
  const config = await writeConfig(dir, sandbox, upstream.ports);
  let proxy = await startProxyProcess(config, join(dir, 'proxy.log'), process.env.BENCH_PROXY_PROFILE);
  const target: TargetOf = (variant, protocol) => variant === 'direct'
    ? { port: upstream.ports[protocol], tls: protocol !== 'smtp', via: 'direct' }
    : { port: proxy.ports.get(`${protocol}/${variant === 'tls' ? 'implicit' : 'none'}`)!, tls: variant === 'tls', via: 'proxy' };
  const client = <T>(task: Task) => runClient<T>({ ...setup(dir), task });
  const pid = proxy.child.pid!;

  try {
    const before = loadavg();
    await warmUp(target, client);
    const restingRss = memory(pid).rss;
    const results = await measure(ROUNDS, { proxy: pid, upstream: upstream.child.pid! }, target, client);
    const rss = { resting: restingRss, peak: memory(pid).peak };
    // The measuring proxy's; the idle sessions' proxy asks for a token of its own.
    const tokenRequests = sandbox.stats.tokenRequests;
    // Idle sessions in a proxy of their own: in this one, the sessions would move into the
    // memory the rounds' transfers and bursts freed, and their growth of RSS would undercount them.
    await stopProxyProcess(proxy);
    proxy = await startProxyProcess(config, join(dir, 'proxy-idle.log'));
    const idle = await idleSessions(proxy, (task) => holdClient({ ...setup(dir), task }), target('plain', 'imap'), IDLE_SESSIONS);
    await stopProxyProcess(proxy); // its descriptors and memory free for the workers' instance
    const workers = await workerSessions(dir, config, (task) => holdClient({ ...setup(dir), task }));
    const figures = { ...summarize(results, { load: { before, after: loadavg() }, rounds: ROUNDS, rss, tokenRequests, idle }), workerSessions: workers };
    process.stdout.write(`${render(figures)}\n${renderWorkerSessions(workers)}\n${JSON.stringify(figures)}\n`);
  } finally {
    upstream.child.kill('SIGTERM');
    await stopProxyProcess(proxy);
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
