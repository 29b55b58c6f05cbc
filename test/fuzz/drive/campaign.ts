import { generateScript, type GenerateOptions } from '../generate/index.js';
import { Rng } from '../generate/rng.js';
import { describeScript, type Protocol, type Script } from '../generate/script.js';
import type { DataVerdict } from '../oracle/messages.js';
import { checkReplies, loggedIn, splitLines } from '../oracle/replies.js';
import { runConnection, type Outcome, type Target, type Timeouts } from './connection.js';
import type { ProxyUnderTest } from './proxy.js';

export interface CampaignOptions extends GenerateOptions {
  protocol: Protocol;
  /** Inputs to send (connections are made until this many were generated). */
  count: number;
  /** Connections at the same time. */
  parallel: number;
  /** Source addresses 127.0.0.2, 127.0.0.3, …: how many client machines the fuzzer plays. */
  addresses: number;
  timeouts: Timeouts;
  /** Run just these connections (to reproduce a failure). */
  only?: number[];
  /** Stop early (the proxy died). */
  stopped?: () => boolean;
}

export interface Failure {
  protocol: Protocol;
  index: number;
  symptom: string;
  /** The script in readable form, with its seed: enough to reproduce it. */
  script: string;
  /** The last lines the proxy sent. */
  heard: string[];
  /** The script made smaller while it still fails the same way (with --shrink). */
  shrunk?: string;
}

export interface CampaignResult {
  protocol: Protocol;
  inputs: number;
  connections: number;
  durationMs: number;
  failures: Failure[];
  failureCount: number;
  /** Heavy attacks run, by name. */
  attacks: Record<string, number>;
  /** Each heavy attack with the proxy's RSS before it and the highest while it ran. */
  attackRuns: { name: string; index: number; beforeMiB: number; peakMiB: number }[];
  data: DataVerdict[];
}

const KEEP_FAILURES = 20;

/** The oracles for one connection: time bounds (from the driver), then the replies. */
export function connectionProblems(script: Script, outcome: Outcome): string[] {
  const problems = [...outcome.problems];
  // The run never opens as many connections as clients.maxConnections allows (see runFuzz).
  const greeting = outcome.phases[0] && splitLines(outcome.phases[0].received).lines[0];
  if (greeting && /too many connections/i.test(greeting)) problems.push(`refused as one too many while the fuzzer stayed under clients.maxConnections: ${JSON.stringify(greeting)}`);
  const success = script.inputs.some((input) => input.right) ? undefined : loggedIn(script.protocol, outcome.phases);
  if (success) problems.push(`logged in without the right credentials: ${JSON.stringify(success.slice(0, 120))}`);
  if (script.ending !== 'unread') {
    const replies = checkReplies(script.protocol, { phases: outcome.phases, readToClose: outcome.readToClose });
    if (replies) problems.push(replies);
  }
  return problems;
}

/**
 * Many connections of one protocol, `parallel` at a time, until `count` inputs were sent.
 * `result` fills in as the campaign runs (progress reports read it).
 */
export function startCampaign(proxy: ProxyUnderTest, options: CampaignOptions): { result: CampaignResult; done: Promise<CampaignResult> } {
  const result: CampaignResult = { protocol: options.protocol, inputs: 0, connections: 0, durationMs: 0, failures: [], failureCount: 0, attacks: {}, attackRuns: [], data: [] };
  return { result, done: runCampaign(proxy, options, result) };
}

async function runCampaign(proxy: ProxyUnderTest, options: CampaignOptions, result: CampaignResult): Promise<CampaignResult> {
  const { protocol, seed } = options;
  const started = Date.now();
  const queue = options.only ? [...options.only] : undefined;
  let next = 0;
  const take = (): number | undefined => {
    if (options.stopped?.()) return undefined;
    if (queue) return queue.shift();
    return result.inputs < options.count ? next++ : undefined;
  };
  const worker = async () => {
    for (let index = take(); index !== undefined; index = take()) {
      const script = generateScript(protocol, index, options);
      result.inputs += script.inputs.length;
      result.connections++;
      if (script.attack) result.attacks[script.attack] = (result.attacks[script.attack] ?? 0) + 1;
      const target = targetFor(proxy, options, index);
      const startedAt = Date.now();
      const beforeMiB = proxy.maxRssMiBSince(startedAt - 300);
      const outcome = await runConnection(script, target, Rng.for(seed, protocol, index, 'writes'));
      if (script.attack) result.attackRuns.push({ name: script.attack, index, beforeMiB, peakMiB: proxy.maxRssMiBSince(startedAt) });
      result.data.push(...outcome.data);
      const problems = connectionProblems(script, outcome);
      if (problems.length === 0) continue;
      result.failureCount++;
      if (result.failures.length < KEEP_FAILURES) result.failures.push({ protocol, index, symptom: problems.join('; '), script: describeScript(script, seed), heard: lastLines(outcome) });
    }
  };
  await Promise.all(Array.from({ length: options.parallel }, worker));
  result.durationMs = Date.now() - started;
  return result;
}

function lastLines(outcome: Outcome, count = 8): string[] {
  const text = outcome.phases.map((p) => p.received.toString('latin1')).join('');
  return text.split('\r\n').slice(-count - 1).map((line) => JSON.stringify(line.length > 200 ? `${line.slice(0, 200)}…` : line));
}

/** Where connection `index` goes, and from which address. */
export function targetFor(proxy: ProxyUnderTest, options: CampaignOptions, index: number): Target {
  return { port: (listener) => proxy.port(options.protocol, listener), localAddress: `127.0.0.${2 + (index % options.addresses)}`, timeouts: options.timeouts };
}
