import type { Socket } from 'node:net';
import type { UpstreamSession } from '../upstream/session.js';
import type { SessionEnv } from './session.js';

export interface PipeTotals {
  /** Bytes from the client to the upstream. */
  up: number;
  /** Bytes from the upstream to the client. */
  down: number;
}

/** After one side ended cleanly, how long the other gets to finish closing before it is cut. */
const CLOSE_GRACE_MS = 10_000;

/**
 * Joins the client and upstream sockets after login: writes the bytes each side sent during
 * the login dialogue that the other has not seen yet, then pipes both ways with stream
 * backpressure. `pipe()` alone propagates neither errors nor destroy (nodejs/node#19288), so
 * the end of either side ends the other here: a clean end is passed on as an end (after the
 * buffered bytes), an error or abrupt close destroys the other side.
 */
export function splice(client: Socket, upstream: Socket, pending: { toUpstream: Buffer; toClient: Buffer }, onDone: (totals: PipeTotals) => void): void {
  // What each side was sent from here on, counted where it is written.
  const start = { up: upstream.bytesWritten, down: client.bytesWritten };
  let finished = 0;
  const finish = () => {
    if (++finished === 2) onDone({ up: upstream.bytesWritten - start.up, down: client.bytesWritten - start.down });
  };

  link(client, upstream, finish);
  link(upstream, client, finish);

  if (pending.toClient.length > 0) client.write(pending.toClient);
  if (pending.toUpstream.length > 0) upstream.write(pending.toUpstream);
  client.pipe(upstream);
  upstream.pipe(client);
  client.resume();
  upstream.resume();
}

function link(from: Socket, to: Socket, onClose: () => void): void {
  from.on('error', () => to.destroy());
  from.once('close', () => {
    if (!from.readableEnded) {
      to.destroy();
    } else {
      // A clean end was already passed on by pipe(). `to` is now unpiped and paused, and a
      // paused socket never reads its peer's close: drain it (nobody is left to receive what
      // it sends) so the close is seen, and cut it if the peer takes too long.
      if (!to.writableEnded) to.end();
      to.resume();
      setTimeout(() => to.destroy(), CLOSE_GRACE_MS).unref();
    }
    onClose();
  });
}

/**
 * Hands a logged-in session over to splice(): `fromClient` is what the client sent after its
 * login command. Logs errors of either side, counts the bytes and logs the session's end.
 */
export function pipeSession(env: SessionEnv, client: Socket, upstream: UpstreamSession, fromClient: Buffer, started: number): void {
  const { log, ctx, listener } = env;
  client.on('error', (error) => log.debug({ event: 'client.error', code: (error as NodeJS.ErrnoException).code }, 'client connection error'));
  upstream.socket.on('error', (error) => log.info({ event: 'upstream.error', code: (error as NodeJS.ErrnoException).code }, 'upstream connection error'));
  splice(client, upstream.socket, { toUpstream: fromClient, toClient: upstream.pending }, (totals) => {
    ctx.metrics.bytes.add({ protocol: listener.protocol, direction: 'up' }, totals.up);
    ctx.metrics.bytes.add({ protocol: listener.protocol, direction: 'down' }, totals.down);
    log.info({ event: 'close', loggedIn: true, bytesFromClient: totals.up, bytesToClient: totals.down, durationMs: Date.now() - started }, 'session closed');
    env.onClose?.();
  });
}
