// Hands an accepted message to the sandbox's Exchange: into the INBOX of every recipient that
// has a mailbox here (others are "external" and only recorded), into the sender's Sent Items,
// and into the record tests read (Sandbox.graphSent).
import type { MailStore } from '../mail-store.js';
import type { GraphAttachment, GraphRecipient, GraphSentMessage } from '../types.js';
import { addressLine, rewriteHeader } from './mime.js';
import { newItemId } from './ids.js';
import type { GraphState } from './state.js';

export interface Outgoing {
  mailbox: string;
  via: GraphSentMessage['via'];
  to: GraphRecipient[];
  cc: GraphRecipient[];
  bcc: GraphRecipient[];
  /** As delivered: no Bcc header. */
  mime: Buffer;
  attachments: GraphAttachment[];
  requestId: string;
}

export function deliverOutgoing(store: MailStore, state: GraphState, message: Outgoing): GraphSentMessage {
  const seen = new Set<string>();
  const deliveredTo: string[] = [];
  for (const recipient of [...message.to, ...message.cc, ...message.bcc]) {
    const key = recipient.address.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    const mailbox = store.get(key);
    if (!mailbox) continue;
    mailbox.inbox.append(message.mime);
    deliveredTo.push(recipient.address);
  }
  // The sender's copy shows the Bcc recipients, as Exchange renders Sent Items for IMAP
  // (MS-OXCMAIL: for POP3 and IMAP4, MIME writers SHOULD copy Bcc recipients to the Bcc header).
  const sentCopy = message.bcc.length > 0 ? rewriteHeader(message.mime, [], addressLine('Bcc', message.bcc)) : message.mime;
  store.get(message.mailbox)?.folder('Sent Items')?.append(sentCopy, ['\\Seen']);
  const record: GraphSentMessage = { ...message, savedToSentItems: true, deliveredTo };
  state.sent.push(record);
  state.sentItems.push({ id: newItemId(), mailbox: message.mailbox, mime: message.mime, sentAt: new Date() });
  return record;
}
