// A draft as Graph shows it (the subset of the message resource a sending client reads).
import type { GraphRecipient } from '../types.js';
import { decodeWords } from './addresses.js';
import { fieldValues } from './mime.js';
import type { Draft } from './state.js';

const recipientJson = (r: GraphRecipient): Record<string, unknown> => ({ emailAddress: { name: r.name, address: r.address } });

export function messageJson(draft: Draft, graphUrl: string): Record<string, unknown> {
  const subject = fieldValues(draft.mime, 'subject')[0];
  const messageId = fieldValues(draft.mime, 'message-id')[0];
  return {
    '@odata.context': `${graphUrl}/v1.0/$metadata#users('${encodeURIComponent(draft.mailbox)}')/messages/$entity`,
    id: draft.id,
    createdDateTime: draft.created.toISOString().replace(/\.\d+Z$/, 'Z'),
    subject: subject === undefined ? '' : decodeWords(subject),
    internetMessageId: messageId ?? null,
    isDraft: true,
    hasAttachments: draft.attachments.length > 0,
    toRecipients: draft.to.map(recipientJson),
    ccRecipients: draft.cc.map(recipientJson),
    bccRecipients: draft.bcc.map(recipientJson),
  };
}

export function attachmentJson(attachment: { id: string; name: string; contentType: string; content: Buffer }, graphUrl: string): Record<string, unknown> {
  return {
    '@odata.context': `${graphUrl}/v1.0/$metadata#attachments/$entity`,
    '@odata.type': '#microsoft.graph.fileAttachment',
    id: attachment.id,
    name: attachment.name,
    contentType: attachment.contentType,
    size: attachment.content.length,
    isInline: false,
    lastModifiedDateTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}
