import { createSecureContext } from 'node:tls';
import { loadConfig } from '../config/load.js';
import { ConfigError, type ConfigProblem } from '../config/validate.js';
import type { ProxyConfig } from '../config/types.js';
import { certificateValidities, describeValidity, RENEW_WITHIN_DAYS } from '../ops/certificate-expiry.js';

export interface ConfigCheck {
  ok: boolean;
  problems: ConfigProblem[];
  /** Things that do not stop the proxy today but will, or that clients will notice. */
  warnings: string[];
  /** One line on what was checked, for a file that passed. */
  summary?: string;
}

/**
 * Everything start checks before it binds a port, and nothing that needs the network: the
 * config's validation (keys, references, files, hashes, cross-references), then what start
 * would only find while building its TLS contexts (a key that does not belong to its
 * certificate, a CA file OpenSSL cannot use), then the certificates' dates.
 */
export function checkConfigFile(configPath: string, now = Date.now()): ConfigCheck {
  let config: ProxyConfig;
  try {
    config = loadConfig(configPath);
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, problems: error.problems, warnings: [] };
    throw error;
  }
  const problems = tlsProblems(config);
  const warnings: string[] = [];
  for (const certificate of certificateValidities(config, now)) {
    if (certificate.daysLeft < 0) problems.push({ key: certificate.key, problem: describeValidity(certificate), fix: certificate.renew });
    else if (certificate.daysLeft < RENEW_WITHIN_DAYS) warnings.push(`${describeValidity(certificate)}. Fix: ${certificate.renew}.`);
  }
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const summary = `${plural(config.apps.size, 'app registration')}, ${plural(config.accounts.size, 'account')}, ${plural(config.listeners.length, 'listener')}`;
  return { ok: problems.length === 0, problems, warnings, summary };
}

/** The TLS contexts start builds, built here and thrown away: OpenSSL has the last word on PEM files. */
function tlsProblems(config: ProxyConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const attempt = (key: string, fix: string, build: () => void) => {
    try {
      build();
    } catch (error) {
      problems.push({ key, problem: `OpenSSL refuses it: ${(error as Error).message}`, fix });
    }
  };
  if (config.tls) {
    const { cert, key } = config.tls;
    attempt('tls.keyFile', 'use the key that belongs to tls.certFile, or make both again with "o365-mail-proxy gen-cert --force"', () => createSecureContext({ cert, key: key.reveal() }));
  }
  if (config.upstream.ca) {
    const ca = config.upstream.ca;
    attempt('upstream.caFile', 'use the CA certificate(s) in PEM, as exported from the proxy or the browser', () => createSecureContext({ ca }));
  }
  return problems;
}

/** Prints the result; returns the exit code: 0 only when start would accept the file. */
export async function checkConfigCommand(configPath: string, json: boolean): Promise<number> {
  const result = checkConfigFile(configPath);
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok: result.ok, problems: result.problems, warnings: result.warnings }, null, 2)}\n`);
  } else {
    const lines = result.ok
      ? [`${configPath}: OK (${result.summary})`]
      : [`${configPath}: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}`, ...result.problems.map((p) => `  - ${p.key}: ${p.problem}. Fix: ${p.fix}.`)];
    lines.push(...result.warnings.map((w) => `  warning: ${w}`));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return result.ok ? 0 : 1;
}
