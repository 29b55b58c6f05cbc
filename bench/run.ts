/**
 * npm run bench — what the proxy costs a client, measured the way a user meets it: the
 * measuring clients (client.ts, one process per measurement), the proxy (the built CLI,
 * `start`) and a fast upstream (fast-upstream.ts, serving from memory) each run in a process
 * of their own, on loopback. Every figure is taken straight from the upstream ("direct") and
 * through the proxy, alternating within each round (the order rotates), so load from other
 * work on the machine falls on both; each figure is the median of BENCH_ROUNDS rounds
 * (default 5). Prints a Markdown table and, last, one JSON line. Linux (/proc) only.
 *
 * The sandbox's Entra ID, in this process, issues the proxy's one token; the fast upstream
 * accepts any XOAUTH2 and checks nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSelfSignedCertificate } from '../src/ops/self-signed-certificate.js';
import { hashPassword } from '../src/config/password-hash.js';
import { Secret } from '../src/config/secret.js';
import { startSandbox } from '../src/sandbox/index.js';
import type { Setup, Target, Task } from './client.js';
import { cpuSeconds, memory, runClient, startProxyProcess, startUpstream, type RunningProxyProcess } from './processes.js';
import { fixed, median, percentile, table } from './report.js';

const ROUNDS = Math.max(3, Number(process.env.BENCH_ROUNDS ?? 5));
const PIPE_BYTES = 64 * 1024 * 1024;
const DATA_BYTES = 20 * 1024 * 1024;
const NOOPS = 2000;
const LOGINS = 100;

type Variant = 'direct' | 'plain' | 'tls';
type Transfer = 'fetch' | 'retr' | 'data';
const VARIANTS: Variant[] = ['direct', 'plain', 'tls'];
const PROTOCOL = { fetch: 'imap', retr: 'pop3', data: 'smtp' } as const;

/** Round r takes the variants in an order rotated by r: none always goes first. */
const rotated = <T>(items: T[], round: number) => items.map((_, i) => items[(i + round) % items.length]!);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'o365p-bench-'));
  const cert = await generateSelfSignedCertificate();
  writeFileSync(join(dir, 'cert.pem'), cert.certPem);
  writeFileSync(join(dir, 'key.pem'), cert.keyPem);
  const upstream = await startUpstream(join(dir, 'cert.pem'), join(dir, 'key.pem'), PIPE_BYTES);
  const sandbox = await startSandbox();
  const app = sandbox.registerApp({});
  const setup: Setup = { caFile: join(dir, 'cert.pem'), username: 'bench', password: 'bench-password', mailbox: 'bench@contoso.test' };
  // One CA file for the proxy's way out: the fast upstream's certificate and the sandbox's CA.
  writeFileSync(join(dir, 'ca.pem'), `${cert.certPem}\n${sandbox.caPem}`);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    apps: { bench: { tenantId: sandbox.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, authorityHost: sandbox.authorityHost } },
    accounts: { bench: { passwordHash: await hashPassword(new Secret(setup.password)), mailbox: setup.mailbox, app: 'bench' } },
    listeners: ['imap', 'pop3', 'smtp'].flatMap((protocol) => [{ protocol, port: 0, tls: 'none' }, { protocol, port: 0, tls: 'implicit' }]),
    tls: { certFile: 'cert.pem', keyFile: 'key.pem' },
    upstream: {
      imap: { host: '127.0.0.1', port: upstream.ports.imap },
      pop3: { host: '127.0.0.1', port: upstream.ports.pop3 },
      smtp: { host: '127.0.0.1', port: upstream.ports.smtp },
      caFile: 'ca.pem',
      // One mailbox for every measurement: Exchange's per-mailbox caps do not apply here.
      maxSessionsPerMailbox: { imap: 0, pop3: 0, smtp: 0 },
    },
  }));
  const proxy = await startProxyProcess(join(dir, 'config.json'), join(dir, 'proxy.log'));
  const target = (variant: Variant, protocol: 'imap' | 'pop3' | 'smtp'): Target => variant === 'direct'
    ? { port: upstream.ports[protocol], tls: protocol !== 'smtp', via: 'direct' }
    : { port: proxy.ports.get(`${protocol}/${variant === 'tls' ? 'implicit' : 'none'}`)!, tls: variant === 'tls', via: 'proxy' };
  const client = <T>(task: Task) => runClient<T>({ ...setup, task });

  try {
    const load = { before: loadavg() };
    // Warm-up, not counted: the token, the one scrypt check, JIT, TLS session tickets.
    for (const kind of ['fetch', 'retr', 'data'] as const) {
      for (const variant of VARIANTS) await client({ kind, target: target(variant, PROTOCOL[kind]), bytes: DATA_BYTES });
    }
    const results = await measure(proxy, target, client);
    const figures = summarize(results, { ...load, after: loadavg() }, memory(proxy.child.pid!).peak);
    process.stdout.write(`${render(figures)}\n${JSON.stringify(figures)}\n`);
  } finally {
    proxy.child.kill('SIGTERM');
    upstream.child.kill('SIGTERM');
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Results {
  /** MB/s per variant, one per round. */
  transfer: Record<Transfer, Record<Variant, number[]>>;
  /** Proxy CPU seconds and bytes piped by IMAP and POP3 transfers, per local listener. */
  cpu: Record<'plain' | 'tls', { seconds: number; bytes: number }>;
  noop: Record<'direct' | 'plain', { p50: number[]; p99: number[] }>;
  login: Record<'direct' | 'plain', number[]>;
}

async function measure(proxy: RunningProxyProcess, target: (v: Variant, p: 'imap' | 'pop3' | 'smtp') => Target, client: <T>(task: Task) => Promise<T>): Promise<Results> {
  const byVariant = () => ({ direct: [], plain: [], tls: [] });
  const results: Results = {
    transfer: { fetch: byVariant(), retr: byVariant(), data: byVariant() },
    cpu: { plain: { seconds: 0, bytes: 0 }, tls: { seconds: 0, bytes: 0 } },
    noop: { direct: { p50: [], p99: [] }, plain: { p50: [], p99: [] } },
    login: { direct: [], plain: [] },
  };
  const pid = proxy.child.pid!;
  for (let round = 0; round < ROUNDS; round++) {
    process.stderr.write(`round ${round + 1} of ${ROUNDS}\n`);
    for (const kind of ['fetch', 'retr', 'data'] as const) {
      for (const variant of rotated(VARIANTS, round)) {
        const cpuBefore = cpuSeconds(pid);
        const { bytes, seconds } = await client<{ bytes: number; seconds: number }>({ kind, target: target(variant, PROTOCOL[kind]), bytes: DATA_BYTES });
        results.transfer[kind][variant].push(bytes / seconds / 1e6);
        if (variant !== 'direct' && kind !== 'data') {
          results.cpu[variant].seconds += cpuSeconds(pid) - cpuBefore;
          results.cpu[variant].bytes += bytes;
        }
      }
    }
    for (const variant of rotated(['direct', 'plain'] as const, round)) {
      const { micros } = await client<{ micros: number[] }>({ kind: 'noop', target: target(variant, 'imap'), count: NOOPS });
      results.noop[variant].p50.push(percentile(micros, 50));
      results.noop[variant].p99.push(percentile(micros, 99));
      const { millis } = await client<{ millis: number[] }>({ kind: 'login', target: target(variant, 'imap'), count: LOGINS });
      results.login[variant].push(median(millis));
    }
  }
  return results;
}

function summarize(results: Results, load: { before: number[]; after: number[] }, proxyPeakRss: number) {
  const transfer = (kind: Transfer) => {
    const runs = results.transfer[kind];
    // Each round's ratio compares runs made moments apart, under the same load.
    const ratio = (variant: Variant) => median(runs[variant].map((value, round) => value / runs.direct[round]!));
    return { directMBps: median(runs.direct), plainMBps: median(runs.plain), plainRatio: ratio('plain'), tlsMBps: median(runs.tls), tlsRatio: ratio('tls') };
  };
  const noop = results.noop;
  const added = (p: 'p50' | 'p99') => median(noop.plain[p].map((value, round) => value - noop.direct[p][round]!));
  const perGiB = (c: { seconds: number; bytes: number }) => c.seconds / (c.bytes / 2 ** 30);
  return {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', os: `${process.platform} ${release()}`, node: process.version },
    load: { before: load.before.map((v) => Number(v.toFixed(2))), after: load.after.map((v) => Number(v.toFixed(2))) },
    rounds: ROUNDS,
    imapFetch64MiB: transfer('fetch'),
    pop3Retr64MiB: transfer('retr'),
    smtpData20MiB: transfer('data'),
    noopMicros: { directP50: median(noop.direct.p50), proxiedP50: median(noop.plain.p50), addedP50: added('p50'), directP99: median(noop.direct.p99), proxiedP99: median(noop.plain.p99), addedP99: added('p99') },
    loginMillis: { direct: median(results.login.direct), proxiedCachedToken: median(results.login.plain) },
    proxyCpuSecondsPerGiB: { plain: perGiB(results.cpu.plain), tls: perGiB(results.cpu.tls) },
    proxyPeakRssMiB: proxyPeakRss / 2 ** 20,
  };
}

function render(f: ReturnType<typeof summarize>): string {
  const mbps = (kind: 'imapFetch64MiB' | 'pop3Retr64MiB' | 'smtpData20MiB', label: string) => {
    const t = f[kind];
    return [label, `${fixed(t.directMBps)} MB/s`, `${fixed(t.plainMBps)} MB/s`, fixed(t.plainRatio, 2), `${fixed(t.tlsMBps)} MB/s`, fixed(t.tlsRatio, 2)] as [string, ...string[]];
  };
  const n = f.noopMicros;
  return [
    `${f.date}, ${f.machine.cpus} × ${f.machine.model}, ${f.machine.os}, Node ${f.machine.node}`,
    `load average (1, 5, 15 min) before: ${f.load.before.join(' ')}, after: ${f.load.after.join(' ')}`,
    `median of ${f.rounds} rounds; direct and proxied alternate in each round; proxied: plain or TLS local listener, TLS upstream`,
    '',
    table(['figure', 'direct', 'proxied, plain', 'ratio', 'proxied, TLS', 'ratio'], [
      mbps('imapFetch64MiB', 'IMAP FETCH 64 MiB'),
      mbps('pop3Retr64MiB', 'POP3 RETR 64 MiB'),
      mbps('smtpData20MiB', 'SMTP DATA 20 MiB'),
      ['NOOP round trip p50', `${fixed(n.directP50)} µs`, `${fixed(n.proxiedP50)} µs`, `+${fixed(n.addedP50)} µs`],
      ['NOOP round trip p99', `${fixed(n.directP99)} µs`, `${fixed(n.proxiedP99)} µs`, `+${fixed(n.addedP99)} µs`],
      ['IMAP login (cached token), median', `${fixed(f.loginMillis.direct, 2)} ms`, `${fixed(f.loginMillis.proxiedCachedToken, 2)} ms`],
      ['proxy CPU per GiB piped (FETCH, RETR)', '', `${fixed(f.proxyCpuSecondsPerGiB.plain, 2)} s`, '', `${fixed(f.proxyCpuSecondsPerGiB.tls, 2)} s`],
      ['proxy peak RSS', '', `${fixed(f.proxyPeakRssMiB)} MiB`],
    ]),
  ].join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
