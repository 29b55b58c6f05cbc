// The end of an accepted SMTP transaction on the sandbox's Exchange: the sender checked
// against the authenticated mailbox, the message stored byte-exact in every local recipient's
// INBOX, and Exchange's 250 with the message's id.
import { randomBytes } from 'node:crypto';
import { SERVER_NAME } from '../exchange/identity.js';
import type { Mailbox } from '../mail-store.js';
import { messageId } from './message-id.js';

export interface Transaction {
  from: string;
  /** Recipients with a mailbox here; recipients in foreign domains are accepted and dropped. */
  deliverTo: Mailbox[];
  accepted: number;
  /** BDAT chunks received so far. */
  chunks: Buffer[];
  size: number;
}

/** Delivers `message` (undefined: it was too large) and returns the final reply. */
export function deliver(transaction: Transaction, sender: Mailbox, message: Buffer | undefined): string {
  if (!message) return '552 5.3.4 Message size exceeds fixed maximum message size';
  if (transaction.from.toLowerCase() !== sender.address.toLowerCase()) {
    return '550 5.7.60 SMTP; Client does not have permissions to send as this sender';
  }
  for (const mailbox of transaction.deliverTo) mailbox.inbox.append(message);
  const internalId = randomBytes(6).readUIntBE(0, 6);
  return `250 2.6.0 ${messageId(message)} [InternalId=${internalId}, Hostname=${SERVER_NAME}] Queued mail for delivery`;
}
