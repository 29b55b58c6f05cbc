import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI, as a user runs it (npm test builds first). */
export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** Runs the built CLI to its end; `input` goes to stdin (a pipe, so prompts read it). */
export function cli(args: string[], input?: string, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', timeout: 60_000, ...options });
}

/**
 * The same without blocking this process: for commands that talk to servers the test itself
 * runs (spawnSync would stop their event loop until the command gave up).
 */
export function cliAsync(args: string[], input?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      if (error && status === null) reject(error);
      else resolve({ status, stdout, stderr });
    });
    child.stdin!.end(input ?? '');
  });
}
