import { setTimeout as sleep } from 'node:timers/promises';
import type { Agent } from 'node:https';
import type { Logger } from 'pino';
import type { GraphConfig } from '../../config/types.js';
import type { Metrics } from '../../ops/metrics.js';
import type { AccessToken } from '../../tokens/provider.js';
import type { Secret } from '../../config/secret.js';
import { GraphThrottled, GraphUnreachable, graphErrorOf } from './errors.js';
import { HttpFailure, sendHttp, type HttpRequest, type HttpResponse } from './http.js';
import { MailboxLanes } from './mailbox-lanes.js';
import { backoffMs, retryAfterMs } from './retry-after.js';

/** One Graph call of a message's sending. */
export interface GraphCall {
  /** A short name for metrics and logs: sendMail, createDraft, send, … */
  operation: string;
  method: HttpRequest['method'];
  /** Under /v1.0/users/{mailbox}, e.g. "/sendMail"; or a full URL (an upload session's). */
  path: string;
  body?: Buffer;
  contentType?: string;
  /** More request headers (an upload range's Content-Range). */
  headers?: Record<string, string>;
  /** Upload URLs carry their own authorization and must not get the token. */
  withoutToken?: boolean;
}

/** What one message's calls share: whose mailbox, whose token, until when. */
export interface GraphContext {
  mailbox: string;
  /** getToken(rejected) renews a token Graph refused with 401. */
  tokens: { getToken(rejected?: Secret): Promise<AccessToken> };
  /** Epoch ms: no retry wait may end after it. */
  deadline: number;
  log: Logger;
}

/**
 * Microsoft Graph over HTTPS for the proxy's sending: at most 4 requests in flight per mailbox
 * (more wait their turn), 429/503/504 retried after Retry-After while the deadline allows, a
 * refused token renewed once. A request that may have been acted upon is never repeated here:
 * GraphUnreachable with mayHaveActed goes back to the caller, which knows whether it is safe.
 */
export class GraphClient {
  readonly #config: GraphConfig;
  readonly #agent: Agent;
  readonly #freshAgent: Agent;
  readonly #metrics: Metrics | undefined;
  readonly lanes: MailboxLanes;

  /**
   * `agent` keeps connections for reuse; `freshAgent` opens one per request, for POSTs: a kept
   * connection the server closes just as it is reused fails like a request cut after it acted,
   * and a POST (a send) must never be repeated on a guess.
   */
  constructor(config: GraphConfig, agent: Agent, freshAgent: Agent, metrics?: Metrics, lanes = new MailboxLanes()) {
    this.#config = config;
    this.#agent = agent;
    this.#freshAgent = freshAgent;
    this.#metrics = metrics;
    this.lanes = lanes;
  }

  /** The call's 2xx answer; GraphError, GraphThrottled or GraphUnreachable otherwise. */
  async call(call: GraphCall, ctx: GraphContext): Promise<HttpResponse> {
    let token = call.withoutToken ? undefined : await ctx.tokens.getToken();
    let renewed = false;
    for (let attempt = 0; ; attempt++) {
      const response = await this.#once(call, ctx, token?.token);
      if (response.status < 300) return response;
      if (response.status === 401 && token && !renewed) {
        renewed = true;
        token = await ctx.tokens.getToken(token.token);
        continue;
      }
      if (response.status !== 429 && response.status !== 503 && response.status !== 504) throw graphErrorOf(response, call.operation);
      // Throttled or unavailable: Graph did not act on it, so it can be repeated.
      const waitMs = retryAfterMs(response.headers['retry-after']) ?? backoffMs(attempt);
      const requestId = response.headers['request-id'];
      if (Date.now() + waitMs >= ctx.deadline) throw new GraphThrottled(response.status, waitMs, requestId);
      ctx.log.info({ event: 'graph.throttled', operation: call.operation, status: response.status, waitMs, requestId }, 'Microsoft Graph asked to wait; retrying after the wait');
      await sleep(waitMs);
    }
  }

  /** One request in the mailbox's lane; a failure before the request left is retried within the deadline. */
  async #once(call: GraphCall, ctx: GraphContext, token: Secret | undefined): Promise<HttpResponse> {
    const url = call.path.startsWith('https://') ? call.path : `${this.#config.url}/v1.0/users/${encodeURIComponent(ctx.mailbox)}${call.path}`;
    const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
    if (token) headers.authorization = `Bearer ${token.reveal()}`;
    if (call.contentType) headers['content-type'] = call.contentType;
    for (let attempt = 0; ; attempt++) {
      const started = Date.now();
      try {
        const timeout = Math.max(1, Math.min(this.#config.requestTimeoutMs, ctx.deadline - started));
        const agent = call.method === 'POST' ? this.#freshAgent : this.#agent;
        const response = await this.lanes.run(ctx.mailbox, () => sendHttp(agent, { method: call.method, url, headers, ...(call.body ? { body: call.body } : {}) }, timeout));
        this.#observe(call, String(response.status), started);
        ctx.log.debug({ event: 'graph.request', operation: call.operation, status: response.status, durationMs: Date.now() - started, requestId: response.headers['request-id'] }, 'Microsoft Graph answered');
        return response;
      } catch (error) {
        if (!(error instanceof HttpFailure)) throw error;
        this.#observe(call, 'network', started);
        const wait = backoffMs(attempt);
        // GET, PATCH, PUT and DELETE may be repeated after a stale kept-alive connection.
        const unsent = !error.requestSent || (error.staleConnection && call.method !== 'POST');
        if (!unsent || attempt >= 2 || Date.now() + wait >= ctx.deadline) {
          throw new GraphUnreachable(`no answer from Microsoft Graph (${error.message})`, error.requestSent);
        }
        ctx.log.info({ event: 'graph.retry', operation: call.operation, cause: error.message }, 'Microsoft Graph request failed before it was sent; retrying');
        await sleep(wait);
      }
    }
  }

  #observe(call: GraphCall, status: string, started: number): void {
    this.#metrics?.graphRequests.add({ operation: call.operation, status });
    this.#metrics?.graphRequestSeconds.observe({ operation: call.operation }, (Date.now() - started) / 1000);
  }
}
