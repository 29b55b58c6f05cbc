// The draft path: POST messages (a draft from base64 MIME, recipients from its headers),
// GET/PATCH/DELETE messages/{id}, and POST messages/{id}/send, which sends the draft as it
// stands and removes it from Drafts (its id then answers 404 ErrorItemNotFound, which is how
// a client learns after a lost answer that the send did happen).
import type { GraphRecipient } from '../types.js';
import { badRequest, itemNotFound, messageTooLarge, type GraphAnswer } from './answer.js';
import type { GraphRequest } from './context.js';
import { deliverOutgoing } from './delivery.js';
import { messageJson } from './message-json.js';
import { addressLine, fromAddress, headerRecipients, rewriteHeader, withAttachments } from './mime.js';
import { newItemId } from './ids.js';
import { decodeMime, noRecipients, recipientCount, sendAsDenied } from './send-mail.js';
import type { Draft } from './state.js';

export function findDraft(request: GraphRequest): Draft | undefined {
  return request.messageId === undefined ? undefined : request.state.draftsOf(request.mailbox.address).get(request.messageId);
}

export function createMessage(request: GraphRequest): GraphAnswer {
  const mime = decodeMime(request);
  if (!Buffer.isBuffer(mime)) return mime;
  const draft: Draft = { id: newItemId(), mailbox: request.mailbox.address, mime, ...headerRecipients(mime), patched: new Set(), attachments: [], created: new Date() };
  request.state.draftsOf(draft.mailbox).set(draft.id, draft);
  return { status: 201, json: messageJson(draft, request.graphUrl), headers: { location: `${request.graphUrl}/v1.0/users('${encodeURIComponent(draft.mailbox)}')/messages('${draft.id}')` } };
}

export function getMessage(request: GraphRequest): GraphAnswer {
  const draft = findDraft(request);
  return draft ? { status: 200, json: messageJson(draft, request.graphUrl) } : itemNotFound();
}

export function deleteMessage(request: GraphRequest): GraphAnswer {
  const draft = findDraft(request);
  if (!draft) return itemNotFound();
  request.state.draftsOf(draft.mailbox).delete(draft.id);
  return { status: 204 };
}

/** `[{ "emailAddress": { "address": "...", "name": "..." } }]` → recipients, or undefined when malformed. */
function parseRecipients(value: unknown): GraphRecipient[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const recipients: GraphRecipient[] = [];
  for (const item of value) {
    const email = (item as { emailAddress?: { address?: unknown; name?: unknown } } | null)?.emailAddress;
    if (typeof email?.address !== 'string' || !email.address.includes('@')) return undefined;
    recipients.push({ address: email.address, name: typeof email.name === 'string' && email.name ? email.name : email.address });
  }
  return recipients;
}

const LISTS = { toRecipients: 'to', ccRecipients: 'cc', bccRecipients: 'bcc' } as const;

export function updateMessage(request: GraphRequest): GraphAnswer {
  const draft = findDraft(request);
  if (!draft) return itemNotFound();
  let patch: Record<string, unknown>;
  try {
    patch = JSON.parse(request.body.toString('utf8')) as Record<string, unknown>;
  } catch {
    return badRequest('Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
  }
  const changes: [keyof typeof LISTS, GraphRecipient[]][] = [];
  for (const key of Object.keys(LISTS) as (keyof typeof LISTS)[]) {
    if (!(key in patch)) continue;
    const list = parseRecipients(patch[key]);
    if (!list) return badRequest(`Invalid value for property '${key}'.`);
    changes.push([key, list]);
  }
  for (const [key, list] of changes) {
    draft[LISTS[key]] = list;
    draft.patched.add(LISTS[key]);
  }
  return { status: 200, json: messageJson(draft, request.graphUrl) };
}

/** The draft's MIME as it goes out: no Bcc, To/Cc re-rendered when PATCH changed them, files added. */
function outgoingMime(draft: Draft): Buffer {
  const replace = ['bcc', ...(['to', 'cc'] as const).filter((k) => draft.patched.has(k))];
  const lines = [...(draft.patched.has('to') ? addressLine('To', draft.to) : []), ...(draft.patched.has('cc') ? addressLine('Cc', draft.cc) : [])];
  return withAttachments(rewriteHeader(draft.mime, replace, lines), draft.attachments);
}

export function sendDraft(request: GraphRequest): GraphAnswer {
  const draft = findDraft(request);
  if (!draft) return itemNotFound();
  if (recipientCount(draft) === 0) return noRecipients();
  if (!request.state.maySendAs(draft.mailbox, fromAddress(draft.mime))) return sendAsDenied();
  const mime = outgoingMime(draft);
  if (mime.length > request.maxMessageBytes) return messageTooLarge();
  request.state.draftsOf(draft.mailbox).delete(draft.id);
  deliverOutgoing(request.store, request.state, {
    mailbox: draft.mailbox,
    via: 'draft',
    to: draft.to,
    cc: draft.cc,
    bcc: draft.bcc,
    mime,
    attachments: draft.attachments.map(({ name, contentType, content }) => ({ name, contentType, content })),
    requestId: request.requestId,
  });
  return { status: 202 };
}
