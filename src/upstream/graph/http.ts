import { request, type Agent } from 'node:https';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * A request that got no answer. `requestSent`: the whole request had left, so the server may
 * have acted on it (a send may have happened); before that, nothing can have happened.
 */
export class HttpFailure extends Error {
  override readonly name = 'HttpFailure';
  constructor(message: string, readonly requestSent: boolean, readonly staleConnection = false) {
    super(message);
  }
}

/** Answers larger than this are not what Graph sends to the calls the proxy makes. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * One HTTPS request with a hard deadline over the whole exchange (connect, upload, answer).
 * Error messages name the host and the socket's code, never a header (the token) or the body.
 */
export function sendHttp(agent: Agent, req: HttpRequest, timeoutMs: number): Promise<HttpResponse> {
  const host = new URL(req.url).host;
  return new Promise((resolve, reject) => {
    let sent = false;
    const headers: Record<string, string | number> = { ...req.headers, 'content-length': req.body?.length ?? 0 };
    const outgoing = request(req.url, { method: req.method, agent, headers }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
      });
      res.on('error', (error) => fail(error));
      res.on('end', () => {
        clearTimeout(timer);
        const responseHeaders: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
        }
        resolve({ status: res.statusCode ?? 0, headers: responseHeaders, body: Buffer.concat(chunks) });
      });
    });
    let answered = false;
    const fail = (error: Error & { code?: string }) => {
      clearTimeout(timer);
      outgoing.destroy();
      // A kept-alive connection the server closed just as it was reused: the server most likely
      // never read the request (Node's documented case for a retry). Only a caller whose request
      // may be repeated takes that chance (a server that acted and then cut looks the same).
      const staleConnection = outgoing.reusedSocket && !answered && error.code === 'ECONNRESET';
      reject(new HttpFailure(`${host}: ${error.code ?? error.message}`, sent, staleConnection));
    };
    const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    outgoing.on('finish', () => {
      sent = true;
    });
    outgoing.on('error', fail);
    outgoing.end(req.body);
  });
}
