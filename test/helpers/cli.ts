import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI, as a user runs it (npm test builds first). */
export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** Runs the built CLI to its end; `input` goes to stdin (a pipe, so prompts read it). */
export function cli(args: string[], input?: string, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', timeout: 60_000, ...options });
}
