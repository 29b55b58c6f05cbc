import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUTS, runFuzz, type FuzzOptions } from './fuzz.js';
import { PROTOCOLS } from './generate/script.js';
import { formatSummary } from './summary.js';

/**
 * The short fuzz run of `npm test` (`npm run fuzz` runs the long ones): a few thousand seeded
 * inputs per protocol against the built proxy in its own process, every heavy attack at least
 * once (literal chains, answers never read, talking on after the goodbye, endless lines).
 * FUZZ_SEED=n replays another seed; a failure prints the summary with each failing connection
 * and the command that replays it alone.
 */
export const SHORT_RUN: FuzzOptions = {
  seed: Number(process.env.FUZZ_SEED ?? 20_261_129),
  count: 2_500,
  protocols: PROTOCOLS,
  parallel: 64,
  // Every 50th connection is a heavy attack: each kind runs at least once per protocol.
  heavyEvery: 50,
  addresses: 8,
  maxRssMiB: 256,
  maxGrowthMiB: 64,
  timeouts: DEFAULT_TIMEOUTS,
};

describe('fuzzing before login', () => {
  it('stays up, bounded and protocol-correct under seeded hostile input, and still serves an ordinary client', async () => {
    const summary = await runFuzz(SHORT_RUN);
    const report = formatSummary(summary);
    // The seed and the figures, also when it passes: a long run starts from here.
    console.info(report.split('\n').slice(0, 9).join('\n'));
    expect(summary.ok, report).toBe(true);
  }, 90_000);
});
