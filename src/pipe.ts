import type { Socket } from 'node:net';

export interface PipeTotals {
  /** Bytes from the client to the upstream. */
  up: number;
  /** Bytes from the upstream to the client. */
  down: number;
}

/**
 * Joins the client and upstream sockets after login: writes the bytes each side sent during
 * the login dialogue that the other has not seen yet, then pipes both ways with stream
 * backpressure. `pipe()` alone propagates neither errors nor destroy (nodejs/node#19288), so
 * the end of either side ends the other here: a clean end is passed on as an end (after the
 * buffered bytes), an error or abrupt close destroys the other side.
 */
export function splice(client: Socket, upstream: Socket, pending: { toUpstream: Buffer; toClient: Buffer }, onDone: (totals: PipeTotals) => void): void {
  const totals: PipeTotals = { up: pending.toUpstream.length, down: pending.toClient.length };
  let finished = 0;
  const finish = () => {
    if (++finished === 2) onDone(totals);
  };

  link(client, upstream, (n) => (totals.up += n), finish);
  link(upstream, client, (n) => (totals.down += n), finish);

  if (pending.toClient.length > 0) client.write(pending.toClient);
  if (pending.toUpstream.length > 0) upstream.write(pending.toUpstream);
  client.pipe(upstream);
  upstream.pipe(client);
  client.resume();
  upstream.resume();
}

function link(from: Socket, to: Socket, count: (bytes: number) => void, onClose: () => void): void {
  from.on('data', (chunk: Buffer) => count(chunk.length));
  from.on('error', () => to.destroy());
  from.once('close', () => {
    // A clean end was already passed on by pipe(); anything else must not leave `to` hanging.
    if (!from.readableEnded) to.destroy();
    else if (!to.writableEnded) to.end();
    onClose();
  });
}
