// What the sandbox's Graph remembers: drafts per mailbox, upload sessions, what it sent, and
// the tenant's settings that Graph checks (Send As lists, application access policies).
import type { GraphAttachment, GraphRecipient, GraphSentMessage } from '../types.js';

export interface Draft {
  id: string;
  mailbox: string;
  /** The MIME the draft was created from, as given. */
  mime: Buffer;
  to: GraphRecipient[];
  cc: GraphRecipient[];
  bcc: GraphRecipient[];
  /** Which lists a PATCH changed (their header is then re-rendered on send). */
  patched: Set<'to' | 'cc' | 'bcc'>;
  attachments: (GraphAttachment & { id: string })[];
  created: Date;
}

export interface UploadSession {
  id: string;
  draft: Draft;
  name: string;
  contentType: string;
  size: number;
  chunks: Buffer[];
  received: number;
  expires: Date;
  /** The `authtoken` of the upload URL: the URL itself is the credential. */
  token: string;
}

/** The sender's copy of a sent message, as listed in Sent Items. */
export interface SentItem {
  id: string;
  mailbox: string;
  /** The delivered MIME (its Message-ID and Subject are what a lookup reads). */
  mime: Buffer;
  sentAt: Date;
}

export class GraphState {
  /** mailbox (lower case) → draft id → draft */
  readonly drafts = new Map<string, Map<string, Draft>>();
  readonly uploads = new Map<string, UploadSession>();
  readonly sent: GraphSentMessage[] = [];
  readonly sentItems: SentItem[] = [];
  /** mailbox (lower case) → addresses (lower case) it may send as */
  readonly sendAs = new Map<string, Set<string>>();
  /** client id (lower case) → mailboxes (lower case) it may reach */
  readonly accessPolicies = new Map<string, Set<string>>();
  /** users (lower case) the directory knows without an Exchange Online mailbox */
  readonly usersWithoutMailbox = new Set<string>();
  /** mailbox (lower case) → in flight now / most seen */
  readonly concurrency = new Map<string, { now: number; max: number }>();

  draftsOf(mailbox: string): Map<string, Draft> {
    const key = mailbox.toLowerCase();
    let drafts = this.drafts.get(key);
    if (!drafts) this.drafts.set(key, (drafts = new Map()));
    return drafts;
  }

  maySendAs(mailbox: string, from: string | undefined): boolean {
    if (from === undefined || from.toLowerCase() === mailbox.toLowerCase()) return true;
    return this.sendAs.get(mailbox.toLowerCase())?.has(from.toLowerCase()) ?? false;
  }

  mayReach(clientId: string, mailbox: string): boolean {
    const allowed = this.accessPolicies.get(clientId.toLowerCase());
    return !allowed || allowed.has(mailbox.toLowerCase());
  }

  counter(mailbox: string): { now: number; max: number } {
    const key = mailbox.toLowerCase();
    let counter = this.concurrency.get(key);
    if (!counter) this.concurrency.set(key, (counter = { now: 0, max: 0 }));
    return counter;
  }
}
