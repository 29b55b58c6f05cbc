import { request, type Agent } from 'node:https';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import type { HttpProxyConfig } from '../config/types.js';
import { createHttpsAgent } from '../outbound/https-agent.js';

/** What went wrong on the wire, or what the server answered with an error status. */
export interface NetworkFailure {
  /** One line for the log, e.g. "connect ECONNREFUSED 127.0.0.1:443" or "… answered HTTP 400: invalid_tenant: AADSTS90002: …". */
  text: string;
  /** The HTTP status of an error answer. */
  status?: number;
}

/**
 * MSAL's network module, plus what went wrong on the wire: MSAL reports a failed request, or
 * an error answer to its metadata request, as a bare code ("network_error", "endpoints_resolution_error").
 */
export interface TokenNetworkClient extends INetworkModule {
  /** The last request failure, once; undefined if none since the last call. */
  takeLastFailure(): NetworkFailure | undefined;
}

/**
 * MSAL's own client uses global fetch, which can neither trust an extra CA (tests, corporate
 * TLS inspection) nor bound a request that was accepted and never answered (measured: ~300 s).
 * This one does both, with node:https and a keep-alive agent, and can go through an HTTP proxy.
 */
export function createNetworkClient(options: { ca?: string; proxy?: HttpProxyConfig; timeoutMs: number }): TokenNetworkClient {
  const agent = createHttpsAgent(options);
  let lastFailure: NetworkFailure | undefined;
  const send = <T>(method: 'GET' | 'POST', url: string, init?: NetworkRequestOptions) =>
    sendJson<T>(agent, method, url, init, options.timeoutMs).then((response) => {
      if (response.status >= 400) lastFailure = { text: describeErrorAnswer(new URL(url).host, response), status: response.status };
      return response;
    }, (error: Error) => {
      // Error texts here name hosts and socket codes, never the request body (which holds the secret).
      const { host, hostname } = new URL(url);
      lastFailure = { text: error.message.includes(hostname) ? error.message : `${host}: ${error.message}` };
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

/** An error answer in one line: Entra's error code and the first line of its description (never the request). */
function describeErrorAnswer(host: string, response: NetworkResponse<unknown>): string {
  const body = (response.body ?? {}) as { error?: unknown; error_description?: unknown };
  const description = typeof body.error_description === 'string' ? body.error_description.split(/\r?\n/)[0] : undefined;
  const said = [body.error, description].filter((part) => typeof part === 'string' && part !== '').join(': ');
  return `${host} answered HTTP ${response.status}${said ? `: ${said}` : ''}`;
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
