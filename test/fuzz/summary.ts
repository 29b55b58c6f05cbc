import type { FuzzSummary } from './fuzz.js';

/** The end-of-run report: figures per protocol, then every problem with how to reproduce it. */
export function formatSummary(summary: FuzzSummary): string {
  const out: string[] = [];
  const rate = (inputs: number, ms: number) => Math.round(inputs / Math.max(ms / 1000, 0.001)).toLocaleString('en-US');
  out.push(`seed ${summary.seed} — ${summary.ok ? 'PASS' : 'FAIL'} in ${(summary.durationMs / 1000).toFixed(1)} s`);
  out.push('protocol  inputs      connections  inputs/s  failures  attacks');
  for (const c of summary.campaigns) {
    const attacks = Object.entries(c.attacks).map(([name, n]) => `${name}×${n}`).join(' ') || '-';
    out.push(`${c.protocol.padEnd(9)} ${c.inputs.toLocaleString('en-US').padEnd(11)} ${c.connections.toLocaleString('en-US').padEnd(12)} ${rate(c.inputs, c.durationMs).padEnd(9)} ${String(c.failureCount).padEnd(9)} ${attacks}`);
  }
  const total = summary.campaigns.reduce((sum, c) => sum + c.inputs, 0);
  const { memory } = summary;
  out.push(`total     ${total.toLocaleString('en-US')} inputs, ${summary.campaigns.reduce((sum, c) => sum + c.connections, 0).toLocaleString('en-US')} connections`);
  out.push(`proxy RSS: start ${memory.startMiB.toFixed(0)} MiB, peak ${memory.peakMiB.toFixed(0)} MiB, floor ${memory.earlyFloorMiB.toFixed(0)} → ${memory.lateFloorMiB.toFixed(0)} MiB`);
  out.push(`CPU: proxy ${summary.cpu.proxy.toFixed(1)} s, fuzzer and sandbox ${summary.cpu.fuzzer.toFixed(1)} s`);
  const attacks = summary.campaigns.flatMap((c) => c.attackRuns.map((a) => ({ ...a, protocol: c.protocol }))).sort((a, b) => b.peakMiB - b.beforeMiB - (a.peakMiB - a.beforeMiB));
  if (attacks.length > 0) out.push(`heavy attacks with the most RSS growth: ${attacks.slice(0, 5).map((a) => `${a.protocol} ${a.name} #${a.index} ${a.beforeMiB.toFixed(0)} → ${a.peakMiB.toFixed(0)} MiB`).join('; ')}`);
  const crashed = summary.runProblems.some((p) => p.startsWith('the proxy exited'));
  out.push(`crashes: ${crashed ? 1 : 0}`);
  for (const problem of summary.runProblems) out.push(`run problem: ${problem}`);
  for (const c of summary.campaigns) {
    for (const failure of c.failures) {
      out.push('', `FAILURE ${failure.protocol} #${failure.index}: ${failure.symptom}`, failure.script, ...(failure.shrunk ? ['  made smaller, it still fails the same way:', failure.shrunk.replace(/^/gm, '  ')] : []), `  heard (last lines): ${failure.heard.join(' ')}`, `  reproduce: npm run fuzz -- --seed ${summary.seed} --protocol ${failure.protocol} --only ${failure.index}`);
    }
    if (c.failureCount > c.failures.length) out.push(`… and ${c.failureCount - c.failures.length} more ${c.protocol} failures`);
  }
  return out.join('\n');
}
