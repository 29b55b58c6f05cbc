// Files for a draft: POST messages/{id}/attachments (a fileAttachment under 3 MB, in one
// request), and for 3–150 MB an upload session: POST .../attachments/createUploadSession
// answers an uploadUrl, then PUTs of at most 4 MB each carry the bytes in order
// (Content-Range). Graph answers 200 with nextExpectedRanges ["<next offset>"] (for Outlook
// items a single start offset, as documented) and 201 with a Location header at the end.
import { randomBytes } from 'node:crypto';
import { badRequest, graphError, itemNotFound, messageTooLarge, type GraphAnswer } from './answer.js';
import type { GraphRequest } from './context.js';
import { findDraft } from './drafts.js';
import { attachmentJson } from './message-json.js';
import { newItemId } from './ids.js';

const MIB = 1024 * 1024;
/** Graph sends files of 3 MB and more through upload sessions only; 150 MB is its ceiling. */
const UPLOAD_MIN = 3 * MIB;
const UPLOAD_MAX = 150 * MIB;
const SESSION_LIFETIME_MS = 15 * 60_000;

function parseJson(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const invalidJson = (): GraphAnswer => badRequest('Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');

export function addAttachment(request: GraphRequest): GraphAnswer {
  const draft = findDraft(request);
  if (!draft) return itemNotFound();
  const json = parseJson(request.body);
  if (!json) return invalidJson();
  const { name, contentBytes, contentType } = json;
  if (json['@odata.type'] !== '#microsoft.graph.fileAttachment') return badRequest('The sandbox implements fileAttachment only (@odata.type "#microsoft.graph.fileAttachment").');
  if (typeof name !== 'string' || !name || typeof contentBytes !== 'string') return badRequest('A fileAttachment needs name and contentBytes.');
  const attachment = { id: newItemId(), name, contentType: typeof contentType === 'string' && contentType ? contentType : 'application/octet-stream', content: Buffer.from(contentBytes, 'base64') };
  draft.attachments.push(attachment);
  return { status: 201, json: attachmentJson(attachment, request.graphUrl) };
}

export function createUploadSession(request: GraphRequest): GraphAnswer {
  const draft = findDraft(request);
  if (!draft) return itemNotFound();
  const item = parseJson(request.body)?.AttachmentItem as Record<string, unknown> | undefined;
  if (!item || typeof item !== 'object') return invalidJson();
  const { name, size, contentType } = item;
  if (item.attachmentType !== 'file' || typeof name !== 'string' || !name || typeof size !== 'number' || !Number.isInteger(size)) {
    return badRequest('AttachmentItem needs attachmentType "file", name and size.');
  }
  // Graph refuses sessions for small files with this code (as its users report it).
  if (size < UPLOAD_MIN) return graphError(400, 'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize', 'Attachment size must be greater than the minimum size.');
  if (size > UPLOAD_MAX) return badRequest(`The sandbox, like Graph, takes attachments up to ${UPLOAD_MAX} bytes.`);
  const id = randomBytes(16).toString('hex');
  const expires = new Date(Date.now() + SESSION_LIFETIME_MS);
  request.state.uploads.set(id, { id, draft, name, size, contentType: typeof contentType === 'string' && contentType ? contentType : 'application/octet-stream', chunks: [], received: 0, expires, token: randomBytes(24).toString('base64url') });
  const session = request.state.uploads.get(id)!;
  return {
    status: 201,
    json: {
      '@odata.context': `${request.graphUrl}/v1.0/$metadata#microsoft.graph.uploadSession`,
      uploadUrl: uploadUrl(request.graphUrl, draft.mailbox, draft.id, id, session.token),
      expirationDateTime: expires.toISOString().replace(/\.\d+Z$/, 'Z'),
      nextExpectedRanges: ['0-'],
    },
  };
}

/**
 * Real upload URLs point at outlook.office.com's AttachmentSessions with an `authtoken` in the
 * query; the sandbox serves them under its Graph URL with the same shape.
 */
const uploadUrl = (graphUrl: string, mailbox: string, draftId: string, sessionId: string, token: string): string =>
  `${graphUrl}/upload/Users('${encodeURIComponent(mailbox)}')/Messages('${draftId}')/AttachmentSessions('${sessionId}')?authtoken=${token}`;

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/;

export function uploadChunk(request: GraphRequest, sessionId: string): GraphAnswer {
  const session = request.state.uploads.get(sessionId);
  if (!session || session.token !== request.query.get('authtoken') || session.expires.getTime() < Date.now()) {
    return graphError(404, 'ErrorItemNotFound', 'The upload session was not found or has expired.');
  }
  if (request.hasAuthorization) {
    // The documentation says not to send an Authorization header with these PUTs; clients
    // that do get a 401 (wording as reported; assumed).
    return graphError(401, 'InvalidAudienceForResource', 'The audience claim value is invalid for current resource. Do not send an Authorization header to an upload URL.');
  }
  const draft = request.state.draftsOf(session.draft.mailbox).get(session.draft.id);
  if (!draft) return itemNotFound();
  const range = CONTENT_RANGE.exec(request.contentRange ?? '');
  const [start, end, total] = range ? [Number(range[1]), Number(range[2]), Number(range[3])] : [NaN, NaN, NaN];
  // Wording assumed: Graph documents the expected order but not its refusal text.
  if (!range || total !== session.size || start !== session.received || end - start + 1 !== request.body.length || end >= total) {
    return badRequest(`The Content-Range header must be "bytes ${session.received}-<end>/${session.size}" and match the body length.`);
  }
  // Exchange refuses while the bytes come in once the draft would be over the limit (as
  // reported: after some tens of MB of a larger file); base64 in the MIME counts 4/3.
  const fileBytes = draft.attachments.reduce((sum, a) => sum + a.content.length, 0) + session.received + request.body.length;
  if (draft.mime.length + Math.ceil((fileBytes * 4) / 3) > request.maxMessageBytes) return messageTooLarge();
  session.chunks.push(request.body);
  session.received += request.body.length;
  session.expires = new Date(Date.now() + SESSION_LIFETIME_MS);
  if (session.received < session.size) {
    return { status: 200, json: { '@odata.context': `${request.graphUrl}/v1.0/$metadata#microsoft.graph.uploadSession`, expirationDateTime: session.expires.toISOString().replace(/\.\d+Z$/, 'Z'), nextExpectedRanges: [String(session.received)] } };
  }
  request.state.uploads.delete(session.id);
  const attachment = { id: newItemId(), name: session.name, contentType: session.contentType, content: Buffer.concat(session.chunks) };
  draft.attachments.push(attachment);
  return { status: 201, headers: { location: `${request.graphUrl}/v1.0/users('${encodeURIComponent(draft.mailbox)}')/messages('${draft.id}')/attachments('${attachment.id}')` } };
}
