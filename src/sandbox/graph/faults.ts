// Queued faults (Sandbox.graphFault): each matching request uses up one, in queue order.
import type { GraphFault, GraphOperation } from '../types.js';
import { graphError, type GraphAnswer } from './answer.js';

interface Pending {
  fault: GraphFault;
  left: number;
}

export class FaultQueue {
  #queue: Pending[] = [];

  add(fault: GraphFault): void {
    const count = fault.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new Error('sandbox: graphFault count must be a positive integer');
    this.#queue.push({ fault, left: count });
  }

  clear(): void {
    this.#queue = [];
  }

  /** The fault this request gets, if any (used up). */
  take(operation: GraphOperation): GraphFault | undefined {
    const pending = this.#queue.find((p) => p.fault.operation === undefined || p.fault.operation === operation);
    if (!pending) return undefined;
    if (--pending.left === 0) this.#queue.splice(this.#queue.indexOf(pending), 1);
    return pending.fault;
  }
}

/**
 * The answer of a throttle/unavailable fault. 429 per Graph's throttling guidance (code
 * TooManyRequests, Retry-After in seconds); 503 with Retry-After as Graph sends it at times.
 */
export function faultAnswer(fault: GraphFault): GraphAnswer | undefined {
  const retryAfter = { 'retry-after': String(fault.retryAfterSeconds ?? 1) };
  if (fault.kind === 'throttle') return graphError(429, 'TooManyRequests', 'Too many requests.', retryAfter);
  if (fault.kind === 'unavailable') return graphError(503, 'ServiceUnavailable', 'Service unavailable.', retryAfter);
  return undefined;
}

/** Graph's per-app, per-mailbox limit on requests in flight (Outlook service limits). */
export const MAILBOX_CONCURRENCY = 4;

/** Graph's (Outlook's) answer to a fifth concurrent request for one mailbox. */
export const mailboxConcurrency = (): GraphAnswer =>
  graphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', {
    'retry-after': '1',
    'ratelimit-exceeded': 'MailboxConcurrency',
    'ratelimit-scope': 'Mailbox',
  });
