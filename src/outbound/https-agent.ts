import { Agent, type AgentOptions, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { HttpProxyConfig } from '../config/types.js';
import { openTunnel } from './http-proxy.js';

export interface HttpsAgentOptions {
  /** Extra trusted CA certificates (upstream.caFile). */
  ca?: string;
  /** The way out (upstream.httpProxy): connections become CONNECT tunnels. */
  proxy?: HttpProxyConfig;
  /** Deadline for opening a tunnel. */
  timeoutMs: number;
  /** Keep connections for the next request (default true). */
  keepAlive?: boolean;
}

/**
 * The keep-alive HTTPS agent of the proxy's own HTTP requests (tokens, Microsoft Graph): it
 * trusts upstream.caFile and goes through upstream.httpProxy, as the mail connections do.
 */
export function createHttpsAgent(options: HttpsAgentOptions): Agent {
  const agentOptions: AgentOptions = { keepAlive: options.keepAlive ?? true, ...(options.ca ? { ca: options.ca } : {}) };
  return options.proxy ? new TunnelAgent(options.proxy, options.timeoutMs, agentOptions) : new Agent(agentOptions);
}

/** An https.Agent whose connections are CONNECT tunnels through an HTTP proxy; TLS runs inside. */
class TunnelAgent extends Agent {
  readonly #proxy: HttpProxyConfig;
  readonly #timeoutMs: number;

  constructor(proxy: HttpProxyConfig, timeoutMs: number, options: AgentOptions) {
    super(options);
    this.#proxy = proxy;
    this.#timeoutMs = timeoutMs;
  }

  override createConnection(options: RequestOptions, callback?: (error: Error | null, stream: Duplex) => void): undefined {
    const target = { host: String(options.host ?? options.hostname), port: Number(options.port ?? 443) };
    openTunnel(this.#proxy, target, this.#timeoutMs).then(
      (socket) => {
        try {
          // https.Agent's own createConnection: TLS with this agent's CA and session cache, over the tunnel.
          callback?.(null, super.createConnection({ ...options, socket } as RequestOptions)!);
        } catch (error) {
          callback?.(error as Error, undefined as never);
        }
      },
      (error: Error) => callback?.(error, undefined as never),
    );
    return undefined;
  }
}
