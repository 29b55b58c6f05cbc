import type { Socket } from 'node:net';

/**
 * What a socket may have queued, unsent, before whoever feeds it stops (the pipe stops reading
 * the other side, the SMTP relay stops reading the message). Not the socket's own high-water
 * mark: that is 16 KiB (one TLS record), fixed when a socket is made, and stopping there
 * stops the sender after nearly every record, each stop and restart waiting for the other
 * processes to be scheduled (0.23–0.31× direct throughput, measured). 1 MiB keeps the bytes
 * moving and still bounds what a slow reader costs: about 1 MiB per direction and session.
 */
export const QUEUE_LIMIT_BYTES = 1024 * 1024;

/**
 * Whether `socket` holds QUEUE_LIMIT_BYTES or more unsent. Then its last write() returned
 * false (the limit is above the high-water mark), so 'drain' follows once all is sent.
 */
export function queueFull(socket: Socket): boolean {
  return socket.writableLength >= QUEUE_LIMIT_BYTES;
}
