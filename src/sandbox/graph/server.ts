// The sandbox's Microsoft Graph over HTTPS: reads the request (4 MB limit), counts it against
// its mailbox's concurrency, checks the token, the app's permission and its access to the
// mailbox, applies queued faults and the delay control, runs the operation, and answers with
// Graph's headers (request-id, client-request-id) — or cuts the connection when told to.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomGuid } from '../ids.js';
import type { SandboxStats } from '../types.js';
import { errorBody, graphError, type GraphAnswer } from './answer.js';
import { readBody } from './body.js';
import type { GraphServerOptions } from './context.js';
import { processRequest, type Processed } from './pipeline.js';
import { routeOf } from './routes.js';

export function createGraphServer(options: GraphServerOptions): Server {
  const server = createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => {
    handle(options, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.on('tlsClientError', () => {});
  server.on('clientError', (_error, socket) => socket.destroy());
  return server;
}

async function handle(options: GraphServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomGuid();
  const header = req.headers['client-request-id'];
  const clientRequestId = typeof header === 'string' && header ? header : requestId;
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'https://localhost');
  } catch {
    url = new URL('https://localhost/');
  }
  const method = req.method ?? 'GET';
  const route = routeOf(method, url.pathname);
  const flight = track(options, route?.user, res);
  const body = await readBody(req);
  if (body.kind === 'broken') return;
  let outcome: Processed;
  if (body.kind === 'too-large') {
    // Status per the brief and reports of Graph; code and text as Graph users quote them.
    outcome = graphError(413, 'BadRequest', 'The maximum request length supported is 4MB.');
  } else if (!route) {
    const last = url.pathname.split('/').filter(Boolean).pop() ?? '';
    outcome = graphError(400, 'BadRequest', `Resource not found for the segment '${last}'.`);
  } else {
    outcome = await processRequest(options, { route, req, body: body.body, url, requestId, concurrent: flight.now() });
  }
  if (outcome === 'drop') {
    options.stats.graphRequests.dropped = (options.stats.graphRequests.dropped ?? 0) + 1;
    flight.release();
    req.socket.destroy();
    return;
  }
  flight.release();
  write(options.stats, res, outcome, requestId, clientRequestId);
}

/**
 * Counts a request in flight for its mailbox from its arrival until its answer is handed over
 * (so that a client holding the answer already sees the count down) or its connection goes.
 */
function track(options: GraphServerOptions, user: string | undefined, res: ServerResponse): { now: () => number; release: () => void } {
  const counter = user === undefined ? undefined : options.state.counter(user);
  if (!counter) return { now: () => 0, release: () => {} };
  counter.now++;
  counter.max = Math.max(counter.max, counter.now);
  let inFlight = true;
  const release = (): void => {
    if (inFlight) counter.now--;
    inFlight = false;
  };
  res.once('close', release);
  return { now: () => counter.now, release };
}

function write(stats: SandboxStats, res: ServerResponse, answer: GraphAnswer, requestId: string, clientRequestId: string): void {
  if (res.destroyed || res.headersSent) return;
  const key = String(answer.status);
  stats.graphRequests[key] = (stats.graphRequests[key] ?? 0) + 1;
  const json = answer.error ? errorBody(answer.error, requestId, clientRequestId) : answer.json;
  const text = json ? JSON.stringify(json) : '';
  res.writeHead(answer.status, {
    'cache-control': 'private',
    'request-id': requestId,
    'client-request-id': clientRequestId,
    'x-ms-ags-diagnostic': JSON.stringify({ ServerInfo: { DataCenter: 'Sandbox', Slice: 'E', Ring: '1', ScaleUnit: '000', RoleInstance: 'SB1PEPF00000001' } }),
    ...(json ? { 'content-type': 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8' } : {}),
    'content-length': Buffer.byteLength(text),
    ...answer.headers,
  });
  res.end(text);
}
