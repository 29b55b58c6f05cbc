// Reads a request body with Graph's 4 MB request limit. A larger body is still read to its end
// (up to a hard cap) and thrown away, so that the client gets the 413 answer rather than a
// reset connection in the middle of its upload.
import type { IncomingMessage } from 'node:http';

/** Graph's limit on one request; "4 MB" taken as 4 MiB (an assumption: Graph does not say which). */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** Past this the sandbox stops reading and cuts the connection (a runaway client). */
const DRAIN_CAP_BYTES = 256 * 1024 * 1024;

export type BodyResult = { kind: 'ok'; body: Buffer } | { kind: 'too-large' } | { kind: 'broken' };

export function readBody(req: IncomingMessage): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
      else if (size > DRAIN_CAP_BYTES) req.destroy();
    });
    req.on('end', () => resolve(size <= MAX_REQUEST_BYTES ? { kind: 'ok', body: Buffer.concat(chunks) } : { kind: 'too-large' }));
    req.on('error', () => resolve({ kind: 'broken' }));
    req.on('close', () => {
      if (!req.complete) resolve({ kind: 'broken' });
    });
  });
}
