// The checks a routed Graph request goes through, in Graph's order: token (401), permission
// (403), mailbox (404), application access policy (403), the mailbox's concurrency (429),
// then queued faults and the delay control, then the operation itself.
import type { IncomingMessage } from 'node:http';
import { accessDenied, graphError, type GraphAnswer } from './answer.js';
import { uploadChunk } from './attachments.js';
import type { GraphRequest, GraphServerOptions } from './context.js';
import { faultAnswer, MAILBOX_CONCURRENCY, mailboxConcurrency } from './faults.js';
import { OPERATIONS, rolesFor, type Route } from './routes.js';
import { listSentItems } from './sent-items.js';
import { checkGraphToken, isAnswer, type GraphCaller } from './token-check.js';

/** An answer, or "cut the connection without one". */
export type Processed = GraphAnswer | 'drop';

export interface Incoming {
  route: Route;
  req: IncomingMessage;
  body: Buffer;
  url: URL;
  requestId: string;
  /** Requests in flight for the mailbox, this one included. */
  concurrent: number;
}

/**
 * Waits out controls.graphDelayMs in short steps, so that a test setting it back to 0 lets
 * the waiting requests go at once (and a closed sandbox does not keep timers long).
 */
async function delay(controls: GraphServerOptions['controls']): Promise<void> {
  const until = Date.now() + controls.graphDelayMs;
  while (controls.graphDelayMs > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(20, until - Date.now())));
  }
}

export async function processRequest(options: GraphServerOptions, incoming: Incoming): Promise<Processed> {
  const { route, req } = incoming;
  let caller: GraphCaller | undefined;
  if (route.operation !== 'uploadChunk') {
    // The upload URL is its own credential; every other call needs a Graph token.
    const checked = checkGraphToken({ directory: options.directory, key: options.key, audience: options.graphUrl }, req.headers.authorization);
    if (isAnswer(checked)) return checked;
    caller = checked;
    if (!rolesFor(route.operation).some((role) => checked.roles.includes(role))) return accessDenied();
  }
  const mailbox = options.store.get(route.user);
  if (!mailbox && options.state.usersWithoutMailbox.has(route.user.toLowerCase())) {
    // Microsoft's KB 4462988 (REST API is not yet supported for this mailbox).
    return graphError(404, 'MailboxNotEnabledForRESTAPI', 'REST API is not yet supported for this mailbox.');
  }
  // Graph's answer for a user it does not know (as Graph users quote it).
  if (!mailbox) return graphError(404, 'ErrorInvalidUser', `The requested user '${route.user}' is invalid.`);
  if (caller && !options.state.mayReach(caller.app.clientId, mailbox.address)) {
    // The text Microsoft documents for a mailbox outside the app's access policy.
    return graphError(403, 'ErrorAccessDenied', 'Access to OData is disabled.');
  }
  if (incoming.concurrent > MAILBOX_CONCURRENCY) return mailboxConcurrency();
  const fault = options.faults.take(route.operation);
  const refused = fault && faultAnswer(fault);
  if (refused) return refused;
  await delay(options.controls);
  if (fault?.kind === 'drop-before') return 'drop';
  const request: GraphRequest = {
    caller,
    mailbox,
    messageId: route.messageId,
    body: incoming.body,
    contentType: (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase(),
    contentRange: req.headers['content-range'],
    hasAuthorization: req.headers.authorization !== undefined,
    requestId: incoming.requestId,
    graphUrl: options.graphUrl(),
    query: incoming.url.searchParams,
    store: options.store,
    state: options.state,
    maxMessageBytes: options.controls.graphMaxMessageBytes,
  };
  const answer = route.operation === 'uploadChunk' ? uploadChunk(request, route.sessionId ?? '')
    : route.operation === 'listSentItems' ? listSentItems(request, route.folder ?? '')
    : OPERATIONS[route.operation].handler(request);
  return fault?.kind === 'drop-after' ? 'drop' : answer;
}
