import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { UpstreamConfig } from '../config/types.js';
import type { Secret } from '../config/secret.js';
import type { UpstreamConnector } from './connector.js';

/** An upstream connection that finished its XOAUTH2 login and is ready to be piped. */
export interface UpstreamSession {
  socket: TLSSocket;
  /** Bytes the server sent after the login dialogue, to forward to the client first. */
  pending: Buffer;
}

/**
 * One protocol's upstream login (loginImap, loginPop3, SmtpUpstream.open), all of one shape so
 * that the login pipeline takes whichever a front names: connect to the configured server, log
 * in `mailbox` with XOAUTH2 and `token`, within upstream.loginTimeoutMs.
 */
export type OpenUpstream<U extends { readonly socket: Socket }> = (connector: UpstreamConnector, upstream: UpstreamConfig, mailbox: string, token: Secret) => Promise<U>;
