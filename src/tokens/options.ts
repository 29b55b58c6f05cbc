import type { Logger } from 'pino';
import type { ProxyConfig } from '../config/types.js';
import type { Metrics } from '../ops/metrics.js';
import type { TokenProviderOptions } from './provider.js';

/** How token requests go out (shared with doctor, so it checks the path the proxy uses). */
export function tokenOptions(config: ProxyConfig, log: Logger, metrics?: Metrics): TokenProviderOptions {
  const { ca, httpProxy } = config.upstream;
  return { ...config.tokens, log, ...(metrics ? { metrics } : {}), ...(ca ? { ca } : {}), ...(httpProxy ? { proxy: httpProxy } : {}) };
}
