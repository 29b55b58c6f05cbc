import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { HostPort } from './types.js';
import { resolveReference } from './references.js';
import type { ConfigProblem } from './problems.js';

export type Json = unknown;
export type JsonObject = Record<string, Json>;

/** Small typed readers that record a problem (with its key and fix) instead of throwing. */
export class Validator {
  readonly problems: ConfigProblem[] = [];
  constructor(private readonly baseDir: string) {}

  problem(key: string, problem: string, fix: string): void {
    this.problems.push({ key, problem, fix });
  }

  object(value: Json, key: string): JsonObject | undefined {
    if (value === undefined) {
      this.problem(key, 'is missing', 'add it (see config.example.json)');
      return undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.problem(key, 'must be an object', 'use {...} (see config.example.json)');
      return undefined;
    }
    return value as JsonObject;
  }

  array(value: Json, key: string): Json[] | undefined {
    if (!Array.isArray(value)) {
      this.problem(key, value === undefined ? 'is missing' : 'must be an array', 'use [...] (see config.example.json)');
      return undefined;
    }
    return value;
  }

  unknownKeys(raw: JsonObject, key: string, known: string[]): void {
    for (const name of Object.keys(raw)) {
      if (!known.includes(name)) {
        this.problem(key ? `${key}.${name}` : name, 'is not a known setting', `remove it or use one of: ${known.join(', ')}`);
      }
    }
  }

  /** A string, with ${env:NAME} / ${file:path} references resolved. */
  string(value: Json, key: string, hint: string): string | undefined {
    if (typeof value !== 'string' || value.trim() === '') {
      this.problem(key, value === undefined ? 'is missing' : 'must be a non-empty string', `set it to ${hint}`);
      return undefined;
    }
    const resolved = resolveReference(value, this.baseDir);
    if (!resolved.ok) {
      this.problem(key, resolved.problem, resolved.fix);
      return undefined;
    }
    return resolved.value;
  }

  oneOf(value: Json, key: string, allowed: readonly string[]): string | undefined {
    if (typeof value !== 'string' || !allowed.includes(value)) {
      this.problem(key, value === undefined ? 'is missing' : `${JSON.stringify(value)} is not allowed`, `use one of: ${allowed.join(', ')}`);
      return undefined;
    }
    return value;
  }

  positiveInt(value: Json, key: string): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      this.problem(key, 'must be a positive whole number', 'use e.g. 10000');
      return 1;
    }
    return value;
  }

  port(value: Json, key: string): number | undefined {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
      this.problem(key, value === undefined ? 'is missing' : 'must be a port number 0-65535', 'use e.g. 1143');
      return undefined;
    }
    return value;
  }

  hostPort(value: Json, key: string, fallback: HostPort): HostPort {
    if (value === undefined) return fallback;
    const raw = this.object(value, key);
    if (!raw) return fallback;
    this.unknownKeys(raw, key, ['host', 'port']);
    const host = this.string(raw.host ?? fallback.host, `${key}.host`, 'a host name');
    const port = this.port(raw.port ?? fallback.port, `${key}.port`);
    return { host: host ?? fallback.host, port: port ?? fallback.port };
  }

  httpsUrl(value: Json, key: string): string | undefined {
    const text = this.string(value, key, 'an https:// URL such as https://login.microsoftonline.com');
    if (!text) return undefined;
    try {
      const url = new URL(text);
      if (url.protocol !== 'https:' || (url.pathname !== '/' && url.pathname !== '')) throw new Error();
      return `https://${url.host}`;
    } catch {
      this.problem(key, `"${text}" is not an https:// URL without a path`, 'use e.g. https://login.microsoftonline.com (the tenant is added from tenantId)');
      return undefined;
    }
  }

  pemFile(value: Json, key: string, label: string): string | undefined {
    const path = this.string(value, key, `the path of a PEM file holding a ${label.toLowerCase()}`);
    if (!path) return undefined;
    const full = resolve(this.baseDir, path);
    let text: string;
    try {
      text = readFileSync(full, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      const fix = key.startsWith('tls.') ? 'run "o365-mail-proxy gen-cert" or fix the path (relative to the config file)' : 'fix the path (relative to the config file)';
      this.problem(key, `cannot read ${full} (${code})`, fix);
      return undefined;
    }
    if (!text.includes(`-----BEGIN ${label}-----`) && !(label === 'PRIVATE KEY' && /-----BEGIN (RSA|EC) PRIVATE KEY-----/.test(text))) {
      this.problem(key, `${full} holds no PEM "${label}"`, 'use a PEM file (text starting with -----BEGIN)');
      return undefined;
    }
    return text;
  }
}
