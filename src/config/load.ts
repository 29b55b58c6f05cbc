import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ProxyConfig } from './types.js';
import { unreadableFile } from './file-access.js';
import { ConfigError, validateConfig } from './validate.js';

/** Reads and validates a config file; throws ConfigError with every problem found. */
export function loadConfig(path: string): ProxyConfig {
  const full = resolve(path);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const denied = unreadableFile(full, code);
    throw new ConfigError([{ key: '(file)', problem: denied?.problem ?? `cannot read ${full} (${code})`, fix: denied?.fix ?? 'pass an existing file with --config, e.g. a copy of config.example.json' }], full);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([{ key: '(file)', problem: `is not valid JSON${jsonErrorPlace(text, error as Error)}`, fix: 'fix the syntax (JSON allows no comments or trailing commas)' }], full);
  }
  return validateConfig(raw, dirname(full), full);
}

/** Line and column of a JSON syntax error. The parser's own message may quote the text, secrets included, so it is not shown. */
function jsonErrorPlace(text: string, error: Error): string {
  const position = /position (\d+)/.exec(error.message);
  if (!position) return '';
  const before = text.slice(0, Number(position[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return ` (line ${line}, column ${column})`;
}
