import type { TLSSocket } from 'node:tls';

/** An upstream connection that finished its XOAUTH2 login and is ready to be piped. */
export interface UpstreamSession {
  socket: TLSSocket;
  /** Bytes the server sent after the login dialogue, to forward to the client first. */
  pending: Buffer;
}
