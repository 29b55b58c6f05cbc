import { GraphError, GraphUnreachable } from './errors.js';
import type { GraphCall, GraphClient, GraphContext } from './client.js';
import type { SlimMessage, TakenAttachment } from './attachments.js';
import type { HeaderRecipients, NamedAddress } from './mime-headers.js';
import { MAX_JSON_ATTACHMENT_BYTES, UPLOAD_CHUNK_BYTES } from './limits.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

/**
 * The draft path: create the draft from the MIME, set its recipients (when the envelope
 * differs from the header), attach what was taken out, send. A draft that was not sent is
 * deleted again. Returns the send's request id.
 */
export async function sendDraft(client: GraphClient, ctx: GraphContext, slim: SlimMessage, recipients: HeaderRecipients | undefined): Promise<string | undefined> {
  // An unanswered create may leave a draft behind, never a sent message.
  const created = await client.call({ operation: 'createDraft', method: 'POST', path: '/messages', contentType: 'text/plain', body: Buffer.from(slim.mime.toString('base64'), 'latin1') }, ctx)
    .catch(notSent);
  const id = (JSON.parse(created.body.toString('utf8')) as { id?: string }).id;
  if (!id) throw new GraphError(created.status, 'NoDraftId', 'the created draft has no id', created.headers['request-id']);
  const item = `/messages/${encodeURIComponent(id)}`;
  let sent = false;
  try {
    const prepare = async () => {
      if (recipients) await client.call({ operation: 'updateDraft', method: 'PATCH', path: item, contentType: 'application/json', body: json(recipientsJson(recipients)) }, ctx);
      for (const attachment of slim.attachments) await attach(client, ctx, item, attachment);
    };
    await prepare().catch(notSent);
    const requestId = await sendOnce(client, ctx, item);
    sent = true;
    return requestId;
  } finally {
    if (!sent) await client.call({ operation: 'deleteDraft', method: 'DELETE', path: item }, ctx).catch(() => undefined);
  }
}

/** Before the send, a lost answer cannot mean a sent message. */
function notSent(error: unknown): never {
  throw error instanceof GraphUnreachable ? new GraphUnreachable(error.message, false) : error;
}

/**
 * Sends the draft. When the answer is lost, the draft itself says whether the send happened:
 * gone (moved to Sent Items or deleted) or no longer a draft means sent; still a draft means
 * not sent, and it is sent once more. Never two sends of one draft.
 */
async function sendOnce(client: GraphClient, ctx: GraphContext, item: string): Promise<string | undefined> {
  const send: GraphCall = { operation: 'send', method: 'POST', path: `${item}/send` };
  try {
    return (await client.call(send, ctx)).headers['request-id'];
  } catch (error) {
    if (!(error instanceof GraphUnreachable && error.mayHaveActed)) throw error;
    ctx.log.warn({ event: 'graph.send-unanswered', cause: error.message }, 'the send of a draft got no answer; checking whether it happened');
    const state = await draftState(client, ctx, item).catch(() => 'unknown' as const);
    if (state === 'sent') return undefined;
    if (state === 'unknown') throw error;
    return (await client.call(send, ctx)).headers['request-id'];
  }
}

async function draftState(client: GraphClient, ctx: GraphContext, item: string): Promise<'sent' | 'draft'> {
  try {
    const answer = await client.call({ operation: 'getDraft', method: 'GET', path: `${item}?$select=isDraft` }, ctx);
    return (JSON.parse(answer.body.toString('utf8')) as { isDraft?: boolean }).isDraft === false ? 'sent' : 'draft';
  } catch (error) {
    if (error instanceof GraphError && error.status === 404) return 'sent';
    throw error;
  }
}

async function attach(client: GraphClient, ctx: GraphContext, item: string, file: TakenAttachment): Promise<void> {
  const described = { name: file.name, contentType: file.contentType, isInline: file.isInline, ...(file.contentId ? { contentId: file.contentId } : {}) };
  if (file.bytes.length <= MAX_JSON_ATTACHMENT_BYTES) {
    const body = json({ '@odata.type': '#microsoft.graph.fileAttachment', ...described, contentBytes: file.bytes.toString('base64') });
    await client.call({ operation: 'addAttachment', method: 'POST', path: `${item}/attachments`, contentType: 'application/json', body }, ctx);
    return;
  }
  const session = await client.call({
    operation: 'createUploadSession', method: 'POST', path: `${item}/attachments/createUploadSession`, contentType: 'application/json',
    body: json({ AttachmentItem: { attachmentType: 'file', size: file.bytes.length, ...described } }),
  }, ctx);
  const uploadUrl = (JSON.parse(session.body.toString('utf8')) as { uploadUrl?: string }).uploadUrl;
  if (!uploadUrl?.startsWith('https://')) throw new GraphError(session.status, 'NoUploadUrl', 'the upload session has no https upload URL', session.headers['request-id']);
  const total = file.bytes.length;
  for (let start = 0; start < total; start += UPLOAD_CHUNK_BYTES) {
    const chunk = file.bytes.subarray(start, Math.min(start + UPLOAD_CHUNK_BYTES, total));
    // The upload URL carries its own authorization: no token goes with it (and it is never logged).
    await client.call({
      operation: 'uploadRange', method: 'PUT', path: uploadUrl, withoutToken: true, contentType: 'application/octet-stream',
      body: chunk, headers: { 'content-range': `bytes ${start}-${start + chunk.length - 1}/${total}` },
    }, ctx);
  }
}

function recipientsJson(recipients: HeaderRecipients): Record<string, unknown> {
  const list = (entries: NamedAddress[]) => entries.map((r) => ({ emailAddress: r.name ? { address: r.address, name: r.name } : { address: r.address } }));
  return { toRecipients: list(recipients.to), ccRecipients: list(recipients.cc), bccRecipients: list(recipients.bcc) };
}
