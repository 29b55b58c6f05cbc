import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';
import { AccountDirectory } from './accounts.js';
import type { ProxyConfig } from './config/types.js';
import { createTokenProviders, type TokenProvider } from './tokens/provider.js';
import { UpstreamConnector } from './upstream/connector.js';

/** What every session needs from the running proxy, built once from the config. */
export interface ProxyContext {
  config: ProxyConfig;
  accounts: AccountDirectory;
  tokens: ReadonlyMap<string, TokenProvider>;
  connector: UpstreamConnector;
  log: Logger;
  /** Lives across config reloads. */
  metrics: Metrics;
}

export function createProxyContext(config: ProxyConfig, log: Logger, metrics: Metrics): ProxyContext {
  const { upstream } = config;
  return {
    config,
    accounts: new AccountDirectory(config.accounts),
    tokens: createTokenProviders(config.apps, { ...config.tokens, log, metrics, ...(upstream.ca ? { ca: upstream.ca } : {}) }),
    connector: new UpstreamConnector({ connectTimeoutMs: upstream.connectTimeoutMs, tlsTimeoutMs: upstream.tlsTimeoutMs, metrics, ...(upstream.ca ? { ca: upstream.ca } : {}) }),
    log,
    metrics,
  };
}
