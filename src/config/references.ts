import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { unreadableFile } from './file-access.js';

const REFERENCE = /^\$\{(env|file):([^}]+)\}$/;

export type ResolvedReference = { ok: true; value: string } | { ok: false; problem: string; fix: string };

/**
 * Resolves a config string that may be a secret reference:
 *   ${env:NAME}  → the environment variable NAME
 *   ${file:path} → the file's content without its trailing newline (path relative to the config file)
 * Anything else is returned as is. Errors never include the value.
 */
export function resolveReference(text: string, baseDir: string): ResolvedReference {
  const match = REFERENCE.exec(text);
  if (!match) return { ok: true, value: text };
  const [, kind, name] = match as unknown as [string, 'env' | 'file', string];
  if (kind === 'env') {
    const value = process.env[name];
    if (value === undefined || value === '') {
      return { ok: false, problem: `environment variable ${name} is not set`, fix: `set ${name} before starting the proxy` };
    }
    return { ok: true, value };
  }
  const path = resolve(baseDir, name);
  try {
    return { ok: true, value: readFileSync(path, 'utf8').replace(/\r?\n$/, '') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return { ok: false, ...(unreadableFile(path, code) ?? { problem: `cannot read ${path} (${code})`, fix: 'check the path (relative paths start at the config file) and its permissions' }) };
  }
}
