import type { Socket } from 'node:net';
import type { AccountConfig } from '../../config/types.js';
import type { TokenProvider } from '../../tokens/provider.js';
import type { SmtpUpstream } from '../../upstream/smtp-client.js';
import type { OpenedSession } from '../session.js';
import type { StoppableSession } from './shutdown.js';

/** Per-client state beside smtp-server's session object. */
export interface RelaySession extends StoppableSession, OpenedSession {
  started: number;
  clientAddress: string;
  /**
   * Aborted when the client is gone: a login still waiting gives up, and an upstream session
   * opened from now on is not wanted.
   */
  left: AbortController;
  /** The client's TCP connection, for its byte counters. */
  socket?: Socket | undefined;
  /** Gives the connection's place back to the connection limits (see ClientSockets). */
  release?: (() => void) | undefined;
  account?: AccountConfig;
  upstream?: SmtpUpstream;
  /** Set when this session's mail goes through Microsoft Graph (smtpVia graph, or auto after the switch). */
  graph?: GraphSending;
  /** Opens a new upstream session the way AUTH did, after Exchange dropped the last one. */
  reopen?: () => Promise<SmtpUpstream>;
  /** Logins refused on this connection (wrong password, unknown user, lockout). */
  failedLogins: number;
  messages: number;
  /** Text of the upstream's last reply, passed on as the text of the final 250 for DATA. */
  lastReplyText?: string;
}

/** A Graph session's side of the relay state: the token source and the transaction. */
export interface GraphSending {
  tokens: TokenProvider;
  /** MAIL FROM, and the RCPT TO addresses so far. */
  transaction?: { from: string; recipients: string[] };
  /** The message went to Graph and its answer has not come back (the shutdown waits for it). */
  awaitingVerdict: boolean;
  /** The shutdown's cut: a message not handed over yet is not sent. */
  close(): void;
  closed: boolean;
}
