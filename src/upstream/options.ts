import type { ProxyConfig } from '../config/types.js';
import type { Metrics } from '../ops/metrics.js';
import type { ConnectorOptions } from './connector.js';

/** How mail connections go out; through the proxy only when it is meant for mail too. */
export function connectorOptions(config: ProxyConfig, metrics?: Metrics): ConnectorOptions {
  const { ca, httpProxy, connectTimeoutMs, tlsTimeoutMs } = config.upstream;
  return { connectTimeoutMs, tlsTimeoutMs, ...(metrics ? { metrics } : {}), ...(ca ? { ca } : {}), ...(httpProxy?.forMail ? { proxy: httpProxy } : {}) };
}
