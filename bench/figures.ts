import { cpus, release } from 'node:os';
import type { IdleSessions } from './idle-sessions.js';
import { fixed, median, signed, table, type Row } from './report.js';
import { BURST, type Results, type Transfer, type Variant } from './rounds.js';

export interface RunFacts {
  load: { before: number[]; after: number[] };
  rounds: number;
  /** The proxy's resident memory after the warm-up, and its peak over the rounds (bursts included). */
  rss: { resting: number; peak: number };
  /** Token requests the measuring proxy made, warm-up and rounds (counted by the sandbox's Entra ID). */
  tokenRequests: number;
  idle: IdleSessions;
}

export type Figures = ReturnType<typeof summarize>;

/** The medians, and ratios of runs made moments apart (the same round), under the same load. */
export function summarize(results: Results, facts: RunFacts) {
  const transfer = (kind: Transfer) => {
    const runs = results.transfer[kind];
    const ratio = (variant: Variant) => median(runs[variant].map((value, round) => value / runs.direct[round]!));
    return { directMBps: median(runs.direct), plainMBps: median(runs.plain), plainRatio: ratio('plain'), tlsMBps: median(runs.tls), tlsRatio: ratio('tls') };
  };
  const { noop, burst } = results;
  const added = (p: 'p50' | 'p99') => median(noop.plain[p].map((value, round) => value - noop.direct[p][round]!));
  const perGiB = (c: { seconds: number; bytes: number }) => c.seconds / (c.bytes / 2 ** 30);
  const round2 = (values: number[]) => values.map((v) => Number(v.toFixed(2)));
  return {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', os: `${process.platform} ${release()}`, node: process.version },
    load: { before: round2(facts.load.before), after: round2(facts.load.after) },
    rounds: facts.rounds,
    imapFetch64MiB: transfer('fetch'),
    pop3Retr64MiB: transfer('retr'),
    smtpData20MiB: transfer('data'),
    noopMicros: { directP50: median(noop.direct.p50), proxiedP50: median(noop.plain.p50), addedP50: added('p50'), directP99: median(noop.direct.p99), proxiedP99: median(noop.plain.p99), addedP99: added('p99') },
    loginMillis: { direct: median(results.login.direct), proxiedCachedToken: median(results.login.plain) },
    burst1000: {
      directSeconds: median(burst.direct.seconds),
      proxiedSeconds: median(burst.plain.seconds),
      proxiedFailed: burst.plain.failed,
      sessionsPerSecondRatio: median(burst.plain.seconds.map((s, round) => burst.direct.seconds[round]! / s)),
      // What the logins cost the machine, whatever else runs on it: with the CPU as the limit,
      // the sessions per second the proxy allows relative to going direct.
      directCpuSeconds: median(burst.direct.cpuSeconds),
      proxiedCpuSeconds: median(burst.plain.cpuSeconds),
      proxyCpuSeconds: median(burst.plain.proxyCpuSeconds),
      cpuRatio: median(burst.plain.cpuSeconds.map((s, round) => burst.direct.cpuSeconds[round]! / s)),
    },
    tokenRequests: facts.tokenRequests,
    proxyCpuSecondsPerGiB: { plain: perGiB(results.cpu.plain), tls: perGiB(results.cpu.tls) },
    proxyRssMiB: { resting: facts.rss.resting / 2 ** 20, peak: facts.rss.peak / 2 ** 20 },
    idleSessions: facts.idle,
  };
}

/** The table `npm run bench` prints (Markdown, so the README can quote it). */
export function render(f: Figures): string {
  const mbps = (kind: 'imapFetch64MiB' | 'pop3Retr64MiB' | 'smtpData20MiB', label: string): Row => {
    const t = f[kind];
    return [label, `${fixed(t.directMBps)} MB/s`, `${fixed(t.plainMBps)} MB/s`, fixed(t.plainRatio, 2), `${fixed(t.tlsMBps)} MB/s`, fixed(t.tlsRatio, 2)];
  };
  const { noopMicros: n, burst1000: b, idleSessions: idle } = f;
  return [
    `${f.date}, ${f.machine.cpus} × ${f.machine.model}, ${f.machine.os}, Node ${f.machine.node}`,
    `load average (1, 5, 15 min) before: ${f.load.before.join(' ')}, after: ${f.load.after.join(' ')}`,
    `median of ${f.rounds} rounds; direct and proxied alternate in each round; proxied: plain or TLS local listener, TLS upstream`,
    '',
    table(['figure', 'direct', 'proxied, plain', 'ratio', 'proxied, TLS', 'ratio'], [
      mbps('imapFetch64MiB', 'IMAP FETCH 64 MiB'),
      mbps('pop3Retr64MiB', 'POP3 RETR 64 MiB'),
      mbps('smtpData20MiB', 'SMTP DATA 20 MiB'),
      ['NOOP round trip p50', `${fixed(n.directP50)} µs`, `${fixed(n.proxiedP50)} µs`, `${signed(n.addedP50)} µs`],
      ['NOOP round trip p99', `${fixed(n.directP99)} µs`, `${fixed(n.proxiedP99)} µs`, `${signed(n.addedP99)} µs`],
      ['IMAP login, cached token (median)', `${fixed(f.loginMillis.direct, 2)} ms`, `${fixed(f.loginMillis.proxiedCachedToken, 2)} ms`],
      [`${BURST.toLocaleString('en')} IMAP logins at once`, `${fixed(b.directSeconds, 2)} s`, `${fixed(b.proxiedSeconds, 2)} s, ${b.proxiedFailed} failed`, `${fixed(b.sessionsPerSecondRatio, 2)} (new sessions/s)`],
      [`CPU for ${BURST.toLocaleString('en')} logins at once, all processes`, `${fixed(b.directCpuSeconds, 2)} s`, `${fixed(b.proxiedCpuSeconds, 2)} s (proxy ${fixed(b.proxyCpuSeconds, 2)} s)`, `${fixed(b.cpuRatio, 2)} (by CPU)`],
      ['token requests by the proxy, all rounds', '', String(f.tokenRequests)],
      ['proxy CPU per GiB piped (FETCH, RETR)', '', `${fixed(f.proxyCpuSecondsPerGiB.plain, 2)} s`, '', `${fixed(f.proxyCpuSecondsPerGiB.tls, 2)} s`],
      ['proxy RSS: after warm-up; peak over the rounds', '', `${fixed(f.proxyRssMiB.resting)} MiB; ${fixed(f.proxyRssMiB.peak)} MiB`],
      [`idle logged-in IMAP sessions (${idle.asked.toLocaleString('en')})`, '', `${idle.up} up, ${idle.failed} failed, ${fixed(idle.kibPerSession, 1)} KiB RSS each`],
    ]),
    `Idle sessions, held once by a fresh proxy process (RSS growth from after 100 sessions came and went, over the sessions up): the bench raised its processes' open-files limit to ${idle.openFiles.limit} (ulimit -n, up to the hard limit)${idle.asked < 9900 ? `; its budget (2 descriptors per session, a reserve for logins in progress) allows ${idle.openFiles.sessions} sessions, so ${idle.asked} were held, not 9,900` : ''}; they logged in within ${fixed(idle.loginSeconds, 1)} s, 100 at a time.`,
  ].join('\n');
}
