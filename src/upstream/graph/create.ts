import type { ProxyConfig } from '../../config/types.js';
import type { Metrics } from '../../ops/metrics.js';
import { createHttpsAgent } from '../../outbound/https-agent.js';
import { GraphClient } from './client.js';
import type { MailboxLanes } from './mailbox-lanes.js';

/**
 * The Graph client of a config: requests go out the way token requests do (upstream.caFile
 * trusted, through upstream.httpProxy). `lanes`: carried over on a reload, so the per-mailbox
 * limit counts the requests still in flight.
 */
export function createGraphClient(config: ProxyConfig, metrics?: Metrics, lanes?: MailboxLanes): GraphClient {
  const { ca, httpProxy, connectTimeoutMs } = config.upstream;
  const agent = (keepAlive: boolean) => createHttpsAgent({ timeoutMs: connectTimeoutMs, keepAlive, ...(ca ? { ca } : {}), ...(httpProxy ? { proxy: httpProxy } : {}) });
  return new GraphClient(config.upstream.graph, agent(true), agent(false), metrics, lanes);
}
