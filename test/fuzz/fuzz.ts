import { startCampaign, targetFor, type CampaignOptions, type CampaignResult } from './drive/campaign.js';
import { shrinkScript } from './drive/shrink.js';
import { generateScript } from './generate/index.js';
import { describeScript } from './generate/script.js';
import type { Timeouts } from './drive/connection.js';
import { fullCapacity, ordinaryLogins } from './drive/final-login.js';
import { CREDENTIALS, startProxyUnderTest, type ProxyUnderTest } from './drive/proxy.js';
import type { Protocol } from './generate/script.js';
import { compareDeliveries } from './oracle/messages.js';
import { memoryFigures, memoryProblems, type MemoryFigures } from './oracle/memory.js';

export interface FuzzOptions {
  seed: number;
  /** Inputs per protocol. */
  count: number;
  protocols: readonly Protocol[];
  parallel: number;
  heavyEvery: number;
  addresses: number;
  maxRssMiB: number;
  maxGrowthMiB: number;
  timeouts: Timeouts;
  only?: number[];
  /** Settings merged into the proxy's config (top-level keys replace). */
  configOverrides?: Record<string, unknown>;
  /** Keep everything the proxy wrote (its log) in this file. */
  logFile?: string;
  /** Make the first failing connections of each protocol smaller before reporting them. */
  shrink?: boolean;
  /** Called every few seconds while a protocol runs. */
  onProgress?: (protocol: Protocol, inputs: number, rssMiB: number, openFiles: number | undefined) => void;
}

export const DEFAULT_TIMEOUTS: Timeouts = { answerMs: 10_000, closeMs: 10_000, unreadHoldMs: 1_000 };

export interface FuzzSummary {
  seed: number;
  campaigns: CampaignResult[];
  durationMs: number;
  memory: MemoryFigures;
  /** CPU seconds used by the proxy and by the fuzzer (driver, sandbox). */
  cpu: { proxy: number; fuzzer: number };
  /** Problems of the run as a whole (the process, memory, log, deliveries, the final logins). */
  runProblems: string[];
  ok: boolean;
}

/**
 * A fuzz run: starts the proxy as its own process against a sandbox, runs each protocol's
 * campaign in turn, then judges the whole run: still up, memory bounded, log clean, every
 * accepted message delivered once and unchanged, every session closed, an ordinary client
 * still logs in.
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const started = Date.now();
  const maxConnections = maxConnectionsFor(options.parallel);
  const proxy = await startProxyUnderTest({ maxConnections, ...(options.configOverrides ? { configOverrides: options.configOverrides } : {}), ...(options.logFile ? { logFile: options.logFile } : {}) });
  const campaigns: CampaignResult[] = [];
  const runProblems: string[] = [];
  let peakKiB = 0;
  let proxyCpu = 0;
  const fuzzerCpu = process.cpuUsage();
  try {
    for (const protocol of options.protocols) {
      const campaign = startCampaign(proxy, { ...options, protocol, creds: CREDENTIALS, stopped: () => proxy.crash() !== undefined });
      const report = () => options.onProgress?.(protocol, campaign.result.inputs, (proxy.samples.at(-1)?.rssKiB ?? 0) / 1024, proxy.openFiles());
      const progress = setInterval(report, 5000);
      campaigns.push(await campaign.done.finally(() => clearInterval(progress)));
      if (proxy.crash()) break;
      if (options.shrink) await shrinkFailures(proxy, campaign.result, { ...options, protocol, creds: CREDENTIALS });
    }
    runProblems.push(...(await afterRun(proxy, campaigns, options, maxConnections)));
  } finally {
    peakKiB = await proxy.peakKiB();
    proxyCpu = proxy.cpuSeconds();
    await proxy.stop();
  }
  const crash = proxy.crash();
  if (crash) runProblems.unshift(crash);
  const memory = memoryFigures(proxy.samples, peakKiB);
  runProblems.push(...memoryProblems(memory, options));
  const { log } = proxy;
  runProblems.push(...log.problems.map((p) => `log: ${p}`));
  if (log.problemCount > log.problems.length) runProblems.push(`log: … and ${log.problemCount - log.problems.length} more`);
  const ok = runProblems.length === 0 && campaigns.every((c) => c.failureCount === 0);
  const used = process.cpuUsage(fuzzerCpu);
  const cpu = { proxy: proxyCpu, fuzzer: (used.user + used.system) / 1e6 };
  return { seed: options.seed, campaigns, durationMs: Date.now() - started, memory, cpu, runProblems, ok };
}

/**
 * clients.maxConnections for a run: room for every connection the fuzzer opens at once (each
 * also counted while the proxy notices it closed), and no more, so that a leak shows.
 */
export function maxConnectionsFor(parallel: number): number {
  return parallel * 2 + 64;
}

/** Replaces the first failures' scripts by smaller ones that fail the same way. */
async function shrinkFailures(proxy: ProxyUnderTest, result: CampaignResult, options: CampaignOptions): Promise<void> {
  for (const failure of result.failures.slice(0, 3)) {
    const script = generateScript(failure.protocol, failure.index, options);
    const smaller = await shrinkScript(script, targetFor(proxy, options, failure.index), options.seed, failure.symptom);
    failure.shrunk = describeScript(smaller, options.seed);
  }
}

/** The checks once every connection is gone: sessions closed, ordinary logins, deliveries. */
async function afterRun(proxy: ProxyUnderTest, campaigns: CampaignResult[], options: FuzzOptions, maxConnections: number): Promise<string[]> {
  if (proxy.crash()) return [];
  const problems: string[] = [];
  const deadline = Date.now() + options.timeouts.closeMs;
  while (proxy.log.openSessions > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const open = proxy.log.openSessions;
  if (open > 0) problems.push(`${open} session(s) logged "connect" but not "close" ${options.timeouts.closeMs} ms after the last connection ended`);
  // Every connection is gone: the descriptors they took must be back (a few spare for timers).
  const start = proxy.openFilesAtStart;
  while (start !== undefined && (proxy.openFiles() ?? 0) > start + 8 && Date.now() < deadline + options.timeouts.closeMs) await new Promise((resolve) => setTimeout(resolve, 50));
  const now = proxy.openFiles();
  if (start !== undefined && now !== undefined && now > start + 8) problems.push(`the proxy holds ${now} file descriptors after the run, ${start} before it: connections that ended were not closed`);
  problems.push(...(await ordinaryLogins(proxy, CREDENTIALS, options.protocols)));
  problems.push(...(await fullCapacity(proxy, maxConnections)));
  const sent = campaigns.flatMap((c) => c.data);
  if (sent.length > 0) problems.push(...compareDeliveries(sent, proxy.sandbox.messages(CREDENTIALS.recipient)).slice(0, 10));
  return problems;
}
