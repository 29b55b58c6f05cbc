/**
 * Memory verdicts over the proxy's resident set size, sampled through the run. Pure.
 * Two checks: the peak stays under a bound (a heap blow-up), and the floor does not creep up
 * from the first half of the run to the last quarter (a leak: garbage comes and goes, but
 * what is held forever raises the lowest value RSS falls back to).
 */
export interface RssSample {
  atMs: number;
  rssKiB: number;
}

export interface MemoryLimits {
  maxRssMiB: number;
  maxGrowthMiB: number;
}

export interface MemoryFigures {
  peakMiB: number;
  startMiB: number;
  /** Lowest RSS in the second quarter and in the last quarter of the run. */
  earlyFloorMiB: number;
  lateFloorMiB: number;
}

export function memoryFigures(samples: RssSample[], peakKiB: number): MemoryFigures {
  if (samples.length === 0) return { peakMiB: peakKiB / 1024, startMiB: 0, earlyFloorMiB: 0, lateFloorMiB: 0 };
  const first = samples[0]!.atMs;
  const span = Math.max(1, samples[samples.length - 1]!.atMs - first);
  const floor = (from: number, to: number) => {
    const inside = samples.filter((s) => s.atMs - first >= from * span && s.atMs - first <= to * span);
    // Too short a run for quarters to mean anything: no floor, no growth verdict.
    return inside.length >= 5 ? Math.min(...inside.map((s) => s.rssKiB)) / 1024 : 0;
  };
  return {
    peakMiB: Math.max(peakKiB, ...samples.map((s) => s.rssKiB)) / 1024,
    startMiB: samples[0]!.rssKiB / 1024,
    earlyFloorMiB: floor(0.25, 0.5),
    lateFloorMiB: floor(0.75, 1),
  };
}

export function memoryProblems(figures: MemoryFigures, limits: MemoryLimits): string[] {
  const problems: string[] = [];
  if (figures.peakMiB > limits.maxRssMiB) problems.push(`peak RSS ${figures.peakMiB.toFixed(0)} MiB is over the bound of ${limits.maxRssMiB} MiB`);
  const growth = figures.lateFloorMiB - figures.earlyFloorMiB;
  if (figures.earlyFloorMiB > 0 && figures.lateFloorMiB > 0 && growth > limits.maxGrowthMiB) problems.push(`RSS floor grew by ${growth.toFixed(0)} MiB during the run (${figures.earlyFloorMiB.toFixed(0)} → ${figures.lateFloorMiB.toFixed(0)} MiB), over the bound of ${limits.maxGrowthMiB} MiB`);
  return problems;
}
