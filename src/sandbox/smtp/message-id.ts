// Exchange's "250 2.6.0 <message-id> [...] Queued mail for delivery" names the message's own
// Message-ID; for a message without one it makes one up.
import { randomBytes } from 'node:crypto';
import { SERVER_NAME } from '../exchange/identity.js';
import { splitMessage } from '../rfc5322.js';

export function messageId(message: Buffer): string {
  const { header } = splitMessage(message.subarray(0, 256 * 1024));
  const match = /^message-id:\s*(<[^>\r\n]+>)/im.exec(header.toString('latin1'));
  return match?.[1] ?? `<${randomBytes(16).toString('hex')}@${SERVER_NAME}>`;
}
