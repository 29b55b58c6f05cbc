// GET /users/{id}/mailFolders/SentItems/messages?$filter=internetMessageId eq '<...>': lets a
// client that lost the answer to a sendMail (no draft id to look up) ask whether a message
// with its Message-ID went out. Only this filter is understood; without one, all sent items.
// Real Exchange files the Sent Items copy a moment after the 202; the sandbox at once.
import { badRequest, type GraphAnswer } from './answer.js';
import type { GraphRequest } from './context.js';
import { decodeWords } from './addresses.js';
import { fieldValues } from './mime.js';

/** `internetMessageId eq '<a@b>'` → "<a@b>" (OData doubles a quote inside a string). */
function filteredId(filter: string | null): string | null | undefined {
  if (filter === null) return null;
  const match = /^\s*internetMessageId\s+eq\s+'((?:[^']|'')*)'\s*$/i.exec(filter);
  return match ? match[1]!.replace(/''/g, "'") : undefined;
}

export function listSentItems(request: GraphRequest, folder: string): GraphAnswer {
  if (folder.toLowerCase() !== 'sentitems') return badRequest("The sandbox lists the well-known folder 'SentItems' only.");
  const wanted = filteredId(request.query.get('$filter'));
  if (wanted === undefined) return badRequest("The sandbox understands only $filter=internetMessageId eq '<id>'.");
  const items = request.state.sentItems.filter((item) => item.mailbox.toLowerCase() === request.mailbox.address.toLowerCase());
  const value = items
    .map((item) => ({ item, messageId: fieldValues(item.mime, 'message-id')[0] ?? null }))
    .filter(({ messageId }) => wanted === null || messageId === wanted)
    .map(({ item, messageId }) => ({
      id: item.id,
      internetMessageId: messageId,
      subject: decodeWords(fieldValues(item.mime, 'subject')[0] ?? ''),
      sentDateTime: item.sentAt.toISOString().replace(/\.\d+Z$/, 'Z'),
      isDraft: false,
    }));
  return { status: 200, json: { '@odata.context': `${request.graphUrl}/v1.0/$metadata#users('${encodeURIComponent(request.mailbox.address)}')/mailFolders('SentItems')/messages`, value } };
}
