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
 * The answer of a throttle/unavailable fault. 429 as the Outlook workload of Graph words it
 * for its request-rate limit (10,000 requests per 10 minutes per app and mailbox), with
 * Retry-After in seconds; 503 with Retry-After as Graph sends it at times, under the code
 * Graph's error list gives it (the message is the sandbox's own).
 */
export function faultAnswer(fault: GraphFault): GraphAnswer | undefined {
  const retryAfter = { 'retry-after': String(fault.retryAfterSeconds ?? 1) };
  if (fault.kind === 'throttle') return graphError(429, 'ApplicationThrottled', 'Application is over its RequestRate limit.', retryAfter);
  if (fault.kind === 'unavailable') return graphError(503, 'serviceNotAvailable', 'The service is temporarily unavailable. Try again later.', retryAfter);
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
