import type { Target, Task } from './client.js';
import { cpuSeconds } from './processes.js';
import { median, percentile } from './report.js';

export const PIPE_BYTES = 64 * 1024 * 1024;
export const DATA_BYTES = 20 * 1024 * 1024;
const NOOPS = 2000;
const LOGINS = 100;
export const BURST = 1000;

/** Straight to the upstream, or through the proxy's plain or implicit-TLS listener. */
export type Variant = 'direct' | 'plain' | 'tls';
export type Transfer = 'fetch' | 'retr' | 'data';
export const VARIANTS: Variant[] = ['direct', 'plain', 'tls'];
export const TRANSFERS: Transfer[] = ['fetch', 'retr', 'data'];
export const PROTOCOL = { fetch: 'imap', retr: 'pop3', data: 'smtp' } as const;

export type TargetOf = (variant: Variant, protocol: 'imap' | 'pop3' | 'smtp') => Target;
export type Client = <T>(task: Task) => Promise<T>;

export interface Results {
  /** MB/s per variant, one per round. */
  transfer: Record<Transfer, Record<Variant, number[]>>;
  /** Proxy CPU seconds and bytes piped by IMAP and POP3 transfers, per local listener. */
  cpu: Record<'plain' | 'tls', { seconds: number; bytes: number }>;
  noop: Record<'direct' | 'plain', { p50: number[]; p99: number[] }>;
  /** Median login time per round, ms. */
  login: Record<'direct' | 'plain', number[]>;
  /**
   * Seconds until all of BURST simultaneous logins were answered, and logins that failed; CPU
   * seconds the processes involved used for them (client and upstream, and the proxy), and the
   * proxy's share.
   */
  burst: Record<'direct' | 'plain', { seconds: number[]; failed: number; cpuSeconds: number[]; proxyCpuSeconds: number[] }>;
}

/** Round r takes the variants in an order rotated by r: none always goes first. */
const rotated = <T>(items: readonly T[], round: number) => items.map((_, i) => items[(i + round) % items.length]!);

/** Every measurement once, straight and proxied in turn, not counted: token, scrypt, JIT, TLS tickets. */
export async function warmUp(target: TargetOf, client: Client): Promise<void> {
  for (const kind of TRANSFERS) {
    for (const variant of VARIANTS) await client({ kind, target: target(variant, PROTOCOL[kind]), bytes: DATA_BYTES });
  }
}

/** `rounds` rounds of every measurement; `pids` for the proxy's and the upstream's CPU time. */
export async function measure(rounds: number, pids: { proxy: number; upstream: number }, target: TargetOf, client: Client): Promise<Results> {
  const byVariant = () => ({ direct: [], plain: [], tls: [] });
  const results: Results = {
    transfer: { fetch: byVariant(), retr: byVariant(), data: byVariant() },
    cpu: { plain: { seconds: 0, bytes: 0 }, tls: { seconds: 0, bytes: 0 } },
    noop: { direct: { p50: [], p99: [] }, plain: { p50: [], p99: [] } },
    login: { direct: [], plain: [] },
    burst: { direct: { seconds: [], failed: 0, cpuSeconds: [], proxyCpuSeconds: [] }, plain: { seconds: [], failed: 0, cpuSeconds: [], proxyCpuSeconds: [] } },
  };
  for (let round = 0; round < rounds; round++) {
    process.stderr.write(`round ${round + 1} of ${rounds}\n`);
    for (const kind of TRANSFERS) {
      for (const variant of rotated(VARIANTS, round)) {
        const cpuBefore = cpuSeconds(pids.proxy);
        const { bytes, seconds } = await client<{ bytes: number; seconds: number }>({ kind, target: target(variant, PROTOCOL[kind]), bytes: DATA_BYTES });
        results.transfer[kind][variant].push(bytes / seconds / 1e6);
        if (variant !== 'direct' && kind !== 'data') {
          results.cpu[variant].seconds += cpuSeconds(pids.proxy) - cpuBefore;
          results.cpu[variant].bytes += bytes;
        }
      }
    }
    for (const variant of rotated(['direct', 'plain'] as const, round)) {
      const imap = target(variant, 'imap');
      const { micros } = await client<{ micros: number[] }>({ kind: 'noop', target: imap, count: NOOPS });
      results.noop[variant].p50.push(percentile(micros, 50));
      results.noop[variant].p99.push(percentile(micros, 99));
      const { millis } = await client<{ millis: number[] }>({ kind: 'login', target: imap, count: LOGINS });
      results.login[variant].push(median(millis));
      const servers = () => ({ proxy: cpuSeconds(pids.proxy), upstream: cpuSeconds(pids.upstream) });
      const before = servers();
      const { ok, seconds, cpuSeconds: clientCpu } = await client<{ ok: number; seconds: number; cpuSeconds: number }>({ kind: 'burst', target: imap, count: BURST });
      const after = servers();
      const proxyCpu = variant === 'direct' ? 0 : after.proxy - before.proxy;
      results.burst[variant].seconds.push(seconds);
      results.burst[variant].failed += BURST - ok;
      results.burst[variant].cpuSeconds.push(clientCpu + after.upstream - before.upstream + proxyCpu);
      results.burst[variant].proxyCpuSeconds.push(proxyCpu);
    }
  }
  return results;
}
