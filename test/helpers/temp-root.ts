import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'o365p-tests-';

/**
 * vitest globalSetup: one temporary directory per test run, holding every directory the
 * tests make (tempDir) — client secrets and private keys among them — removed when the run
 * ends. Workers inherit the variable.
 *
 * vitest skips the teardown when it is interrupted (Ctrl-C), so the directory also goes on
 * the process's exit; and its name carries the run's pid, so a run killed outright (SIGKILL,
 * a closed CI job) is swept by the next one once that pid is gone.
 */
export default function setup(): () => void {
  sweepAbandonedRoots();
  const root = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
  process.env.O365P_TEST_TMP = root;
  const remove = () => rmSync(root, { recursive: true, force: true });
  process.once('exit', remove);
  return remove;
}

function sweepAbandonedRoots(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1];
    if (pid && !isRunning(Number(pid))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
