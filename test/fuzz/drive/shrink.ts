import { Rng } from '../generate/rng.js';
import type { Script } from '../generate/script.js';
import { connectionProblems } from './campaign.js';
import { runConnection, type Target } from './connection.js';

/** A problem's kind: its words without the numbers ("no answer within # ms to input #"). */
export function problemKind(problem: string): string {
  return problem.split(': ')[0]!.replace(/\d+/g, '#');
}

/**
 * Makes a failing script smaller while it still fails the same way: drops one input at a
 * time (from the end, keeping a final goodbye), then tries plain writes and a polite client.
 * Each try is one more connection to the proxy; `budget` caps them.
 */
export async function shrinkScript(script: Script, target: Target, seed: number, symptom: string, budget = 80): Promise<Script> {
  const kind = problemKind(symptom);
  const fails = async (candidate: Script) => {
    const outcome = await runConnection(candidate, target, Rng.for(seed, candidate.protocol, candidate.index, 'writes'));
    return connectionProblems(candidate, outcome).some((p) => problemKind(p) === kind);
  };
  let current = script;
  const keepLast = script.ending === 'goodbye' || script.ending === 'linger';
  for (let i = current.inputs.length - (keepLast ? 2 : 1); i >= 0 && budget > 0; i--) {
    const candidate = { ...current, inputs: current.inputs.filter((_, j) => j !== i) };
    budget--;
    if (candidate.inputs.length > 0 && (await fails(candidate))) current = candidate;
  }
  for (const simpler of [{ split: false }, { waitGreeting: true }]) {
    const candidate = { ...current, ...simpler };
    if (budget-- > 0 && JSON.stringify(simpler) !== JSON.stringify({ split: current.split }) && (await fails(candidate))) current = candidate;
  }
  return current;
}
