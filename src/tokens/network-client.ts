import { Agent, request, type AgentOptions, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import type { HttpProxyConfig } from '../config/types.js';
import { openTunnel } from '../outbound/http-proxy.js';

/** MSAL's network module, plus what went wrong on the wire: MSAL reports a failed request as a bare code. */
export interface TokenNetworkClient extends INetworkModule {
  /** The last request failure (e.g. "connect ECONNREFUSED ..."), once; undefined if none since the last call. */
  takeLastFailure(): string | undefined;
}

/**
 * MSAL's own client uses global fetch, which can neither trust an extra CA (tests, corporate
 * TLS inspection) nor bound a request that was accepted and never answered (measured: ~300 s).
 * This one does both, with node:https and a keep-alive agent, and can go through an HTTP proxy.
 */
export function createNetworkClient(options: { ca?: string; proxy?: HttpProxyConfig; timeoutMs: number }): TokenNetworkClient {
  const agentOptions: AgentOptions = { keepAlive: true, ...(options.ca ? { ca: options.ca } : {}) };
  const agent = options.proxy ? new TunnelAgent(options.proxy, options.timeoutMs, agentOptions) : new Agent(agentOptions);
  let lastFailure: string | undefined;
  const send = <T>(method: 'GET' | 'POST', url: string, init?: NetworkRequestOptions) =>
    sendJson<T>(agent, method, url, init, options.timeoutMs).catch((error: Error) => {
      // Error texts here name hosts and socket codes, never the request body (which holds the secret).
      lastFailure = `${new URL(url).host}: ${error.message}`;
      throw error;
    });
  return {
    sendGetRequestAsync: (url, init) => send('GET', url, init),
    sendPostRequestAsync: (url, init) => send('POST', url, init),
    takeLastFailure() {
      const failure = lastFailure;
      lastFailure = undefined;
      return failure;
    },
  };
}

function sendJson<T>(agent: Agent, method: string, url: string, init: NetworkRequestOptions | undefined, timeoutMs: number): Promise<NetworkResponse<T>> {
  return new Promise((resolve, reject) => {
    const body = method === 'POST' ? Buffer.from(init?.body ?? '', 'utf8') : undefined;
    const headers: Record<string, string | number> = { ...(init?.headers ?? {}) };
    if (body) headers['content-length'] = body.length;
    const req = request(url, { method, agent, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = text === '' ? {} : JSON.parse(text);
        } catch {
          reject(new Error(`${new URL(url).host} answered HTTP ${res.statusCode} with a body that is not JSON`));
          return;
        }
        const responseHeaders: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
        }
        resolve({ status: res.statusCode ?? 0, headers: responseHeaders, body: parsed as T });
      });
    });
    // `timeout` fires on socket inactivity; a server that trickles bytes is caught by the provider's deadline.
    req.on('timeout', () => req.destroy(new Error(`no answer from ${new URL(url).host} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
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
