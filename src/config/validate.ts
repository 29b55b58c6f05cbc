import { availableParallelism } from 'node:os';
import { Secret } from './secret.js';
import { CLOUDS, type CloudName } from './clouds.js';
import { ConfigError, type ConfigProblem } from './problems.js';
import { checkShape } from './shape.js';
import { checkApps } from './apps.js';
import { appOnlyUsers, checkAccounts } from './accounts.js';
import { checkTokenStore } from './token-store.js';
import { checkAdminPort, checkListeners } from './listeners.js';
import { checkUpstream } from './upstream.js';
import { Validator, asObject, type JsonObject } from './validator.js';
import type { ProxyConfig } from './types.js';

/**
 * Turns parsed JSON into a ProxyConfig, collecting every problem (not just the first) with
 * the key that holds it and how to fix it. Two passes: config.schema.json checks the shape
 * and fills in the defaults (shape.ts); then the checks a schema cannot make: references,
 * files, cross-references, defaults that depend on the cloud. File paths are relative to `baseDir`.
 */
export function validateConfig(raw: unknown, baseDir: string, source = 'config'): ProxyConfig {
  const data = structuredClone(raw);
  const shapeProblems = checkShape(data);
  const v = new Validator(baseDir);
  const config = checkContents(v, asObject(data) ?? {}, baseDir);
  const problems = [...shapeProblems, ...withoutKeysOf(v.problems, shapeProblems)];
  if (problems.length > 0) throw new ConfigError(problems, source);
  return config as ProxyConfig;
}

/** Only valid as a whole when no problem was found; parts of a broken config may be missing. */
function checkContents(v: Validator, root: JsonObject, baseDir: string): Partial<ProxyConfig> {
  // A cloud the schema refused still needs endpoints for the checks that follow.
  const cloud = CLOUDS[Object.hasOwn(CLOUDS, String(root.cloud)) ? (root.cloud as CloudName) : 'commercial'];
  // Graph's URL (from the cloud or upstream.graph.url) is the default of each app's graphScope.
  const upstream = checkUpstream(v, root.upstream, cloud);
  const apps = checkApps(v, root.apps, cloud, appOnlyUsers(root.accounts, Object.keys(asObject(root.apps) ?? {})), upstream?.graph.url ?? cloud.graphUrl);
  const accounts = checkAccounts(v, root.accounts, Object.keys(asObject(root.apps) ?? {}));
  const listeners = checkListeners(v, root.listeners);
  const tls = checkLocalTls(v, root.tls, listeners.some((l) => l.tls !== 'none'));
  const admin = checkAdmin(v, asObject(root.admin));
  if (admin) checkAdminPort(v, admin, listeners);
  return {
    apps,
    accounts,
    listeners,
    ...(tls ? { tls } : {}),
    ...(upstream ? { upstream } : {}),
    // The schema checked these sections and filled in every default.
    tokens: root.tokens as ProxyConfig['tokens'],
    tokenStore: checkTokenStore(v, root.tokenStore, baseDir),
    clients: root.clients as ProxyConfig['clients'],
    log: root.log as ProxyConfig['log'],
    workers: root.workers === 'auto' ? availableParallelism() : (root.workers as number),
    ...(admin ? { admin } : {}),
  };
}

function checkLocalTls(v: Validator, value: unknown, needed: boolean): ProxyConfig['tls'] {
  const raw = asObject(value);
  if (!raw) {
    if (needed && value == null) v.problem('tls', 'a listener uses TLS but no local certificate is configured', 'run "o365-mail-proxy gen-cert" and set tls.certFile and tls.keyFile');
    return undefined;
  }
  const cert = v.pemFile(raw.certFile, 'tls.certFile', 'CERTIFICATE');
  const key = v.pemFile(raw.keyFile, 'tls.keyFile', 'PRIVATE KEY');
  return cert && key ? { cert, key: new Secret(key) } : undefined;
}

function checkAdmin(v: Validator, raw: JsonObject | undefined): ProxyConfig['admin'] {
  if (!raw) return undefined;
  const host = v.text(raw.host, 'admin.host');
  return host && typeof raw.port === 'number' ? { host, port: raw.port } : undefined;
}

/** The schema's word on a key stands; a second problem for the same key would only repeat it. */
function withoutKeysOf(problems: ConfigProblem[], shape: ConfigProblem[]): ConfigProblem[] {
  const taken = new Set(shape.map((p) => p.key));
  return problems.filter((p) => !taken.has(p.key));
}

export { ConfigError, type ConfigProblem } from './problems.js';
