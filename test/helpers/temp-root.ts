import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * vitest globalSetup: one temporary directory per test run, holding every directory the
 * tests make (tempDir), removed when the run ends. Workers inherit the variable.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'o365p-tests-'));
  process.env.O365P_TEST_TMP = root;
  return () => rmSync(root, { recursive: true, force: true });
}
