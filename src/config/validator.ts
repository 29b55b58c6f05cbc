import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { resolveReference } from './references.js';
import { unreadableFile } from './file-access.js';
import type { ConfigProblem } from './problems.js';

export type JsonObject = Record<string, unknown>;

/** The value as an object, or undefined: a wrong shape was already reported by the schema. */
export function asObject(value: unknown): JsonObject | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

/**
 * The checks a schema cannot make: references resolved, files read, strings' contents. Each
 * records a problem (with its key and fix) instead of throwing. Values of the wrong type are
 * skipped, since checking the shape is the schema's job (see shape.ts).
 */
export class Validator {
  readonly problems: ConfigProblem[] = [];
  constructor(private readonly baseDir: string) {}

  problem(key: string, problem: string, fix: string): void {
    this.problems.push({ key, problem, fix });
  }

  /** A string, with ${env:NAME} / ${file:path} references resolved. */
  text(value: unknown, key: string): string | undefined {
    if (typeof value !== 'string') return undefined;
    // The schema's minLength lets spaces through; a blank setting is as good as none.
    if (value.trim() === '') {
      this.problem(key, 'must not be empty', 'set it (see config.example.json)');
      return undefined;
    }
    const resolved = resolveReference(value, this.baseDir);
    if (!resolved.ok) {
      this.problem(key, resolved.problem, resolved.fix);
      return undefined;
    }
    return resolved.value;
  }

  httpsUrl(value: unknown, key: string, fix = 'use e.g. https://login.microsoftonline.com (the tenant is added from tenantId)'): string | undefined {
    const text = this.text(value, key);
    if (text === undefined) return undefined;
    try {
      const url = new URL(text);
      if (url.protocol !== 'https:' || (url.pathname !== '/' && url.pathname !== '')) throw new Error();
      return `https://${url.host}`;
    } catch {
      this.problem(key, `"${text}" is not an https:// URL without a path`, fix);
      return undefined;
    }
  }

  pemFile(value: unknown, key: string, label: string): string | undefined {
    const path = this.text(value, key);
    if (path === undefined) return undefined;
    const full = resolve(this.baseDir, path);
    let text: string;
    try {
      text = readFileSync(full, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      const fix = key.startsWith('tls.') ? 'run "o365-mail-proxy gen-cert" or fix the path (relative to the config file)' : 'fix the path (relative to the config file)';
      const denied = unreadableFile(full, code);
      this.problem(key, denied?.problem ?? `cannot read ${full} (${code})`, denied?.fix ?? fix);
      return undefined;
    }
    if (!text.includes(`-----BEGIN ${label}-----`) && !(label === 'PRIVATE KEY' && /-----BEGIN (RSA|EC) PRIVATE KEY-----/.test(text))) {
      this.problem(key, `${full} holds no PEM "${label}"`, 'use a PEM file (text starting with -----BEGIN)');
      return undefined;
    }
    return text;
  }
}
