// What every Graph handler gets: the checked caller, the mailbox the URL names, the request
// body, and the sandbox's state.
import type { Directory } from '../directory.js';
import type { SigningKey } from '../entra/keys.js';
import type { MailStore, Mailbox } from '../mail-store.js';
import type { SandboxControls, SandboxStats } from '../types.js';
import type { FaultQueue } from './faults.js';
import type { GraphState } from './state.js';
import type { GraphCaller } from './token-check.js';

export interface GraphRequest {
  caller: GraphCaller | undefined;
  mailbox: Mailbox;
  /** Message id from the URL, for the messages/{id} calls. */
  messageId: string | undefined;
  body: Buffer;
  /** Media type of the body, lower case, without parameters. */
  contentType: string;
  requestId: string;
  /** The Graph URL, for @odata.context and upload URLs. */
  graphUrl: string;
  /** The Content-Range header (upload chunks). */
  contentRange: string | undefined;
  /** Whether the request carried an Authorization header (upload chunks must not). */
  hasAuthorization: boolean;
  /** The query string of the URL (the upload session's authtoken). */
  query: URLSearchParams;
  store: MailStore;
  state: GraphState;
  /** controls.graphMaxMessageBytes at the time of the request. */
  maxMessageBytes: number;
}

export interface GraphServerOptions {
  tls: { cert: string; key: string };
  directory: Directory;
  key: SigningKey;
  store: MailStore;
  state: GraphState;
  faults: FaultQueue;
  controls: SandboxControls;
  stats: SandboxStats;
  /** "https://127.0.0.1:PORT", known once listening. */
  graphUrl: () => string;
}
