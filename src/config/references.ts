import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { unreadableFile } from './file-access.js';

const REFERENCE = /^\$\{(env|file):([^}]+)\}$/;
/** PowerShell's `$env:NAME` and the shells' `${NAME}`: taken literally, they would be the secret itself. */
const POWERSHELL_ENV = /\$env:([A-Za-z_][A-Za-z0-9_]*)/i;
const SHELL_VARIABLE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

export type ResolvedReference = { ok: true; value: string } | { ok: false; problem: string; fix: string };

/**
 * Resolves a config string that may be a secret reference:
 *   ${env:NAME}  → the environment variable NAME
 *   ${file:path} → the file's content without its trailing newline (path relative to the config file)
 * Anything else is returned as is. Errors never include the value.
 */
export function resolveReference(text: string, baseDir: string): ResolvedReference {
  const match = REFERENCE.exec(text);
  if (!match) return misspelledReference(text) ?? { ok: true, value: text };
  const [, kind, name] = match as unknown as [string, 'env' | 'file', string];
  if (kind === 'env') {
    const value = process.env[name];
    if (value === undefined) return { ok: false, problem: `environment variable ${name} is not set`, fix: `set ${name} before starting the proxy` };
    if (value === '') return { ok: false, problem: `environment variable ${name} is empty`, fix: `give ${name} its value before starting the proxy (it is set, but to nothing)` };
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

/** A reference in another language's spelling. Only the variable's name is echoed: the rest may be a secret. */
function misspelledReference(text: string): ResolvedReference | undefined {
  const powershell = POWERSHELL_ENV.exec(text)?.[1];
  const name = powershell ?? SHELL_VARIABLE.exec(text)?.[1];
  if (name === undefined) return undefined;
  const [written, language] = powershell ? [`$env:${name}`, 'PowerShell\'s'] : [`\${${name}}`, 'the shell\'s'];
  return { ok: false, problem: `"${written}" would be taken as literal text (that is ${language} spelling)`, fix: `write "\${env:${name}}" to use the environment variable ${name}` };
}
