import { setTimeout as sleep } from 'node:timers/promises';
import { GraphUnreachable } from './errors.js';
import type { GraphCall, GraphClient, GraphContext } from './client.js';
import { base64Length, takeOutAttachments } from './attachments.js';
import { sendDraft } from './draft.js';
import { headerRecipients, messageHeader, sameAddress, type HeaderRecipients } from './mime-headers.js';
import { MAX_REQUEST_BASE64 } from './limits.js';

/** What a message was sent with, for the log line. */
export interface GraphSendResult {
  /** sendMail: one request with the MIME; draft: create, set recipients/attachments, send. */
  path: 'sendMail' | 'draft';
  requestId: string | undefined;
}

/** The message cannot be sent as one Graph message: not multipart and too large for one request. */
export class TooLargeForGraph extends Error {
  override readonly name = 'TooLargeForGraph';
}

/**
 * Sends `message` from the mailbox to exactly `recipients` (the SMTP envelope).
 *
 * Graph takes a MIME message's recipients from its To, Cc and Bcc headers (Bcc ones get it
 * without appearing to others). When those are exactly the envelope and the message fits one
 * request, one sendMail carries it (Mail.Send). Otherwise the message becomes a draft whose
 * recipients are set from the envelope, with large attachments uploaded separately, and the
 * draft is sent (Mail.ReadWrite and Mail.Send). Errors: GraphError, GraphThrottled,
 * GraphUnreachable (mayHaveActed: it may have been sent), TooLargeForGraph.
 */
export async function sendThroughGraph(client: GraphClient, ctx: GraphContext, message: Buffer, recipients: readonly string[]): Promise<GraphSendResult> {
  const fromHeaders = headerRecipients(messageHeader(message));
  const matches = sameSet(recipients, [...fromHeaders.to, ...fromHeaders.cc, ...fromHeaders.bcc].map((r) => r.address));
  if (matches && base64Length(message.length) <= MAX_REQUEST_BASE64) {
    const call: GraphCall = { operation: 'sendMail', method: 'POST', path: '/sendMail', contentType: 'text/plain', body: Buffer.from(message.toString('base64'), 'latin1') };
    try {
      const response = await client.call(call, ctx);
      return { path: 'sendMail', requestId: response.headers['request-id'] };
    } catch (error) {
      // The answer was lost: only a copy in Sent Items proves the send (it may come late, so its
      // absence proves nothing and the caller answers "may have been sent").
      if (!(error instanceof GraphUnreachable && error.mayHaveActed)) throw error;
      const messageId = messageHeader(message).find((f) => f.name === 'message-id')?.value;
      if (messageId && await foundInSentItems(client, ctx, messageId)) return { path: 'sendMail', requestId: undefined };
      throw error;
    }
  }
  const slim = takeOutAttachments(message, MAX_REQUEST_BASE64);
  if (!slim) throw new TooLargeForGraph('the message is larger than one Graph request and has no attachments to upload separately');
  const requestId = await sendDraft(client, ctx, slim, matches ? undefined : placeRecipients(recipients, fromHeaders));
  return { path: 'draft', requestId };
}

/** Looks for the message in Sent Items by its Message-ID, a few times (needs Mail.Read or Mail.ReadWrite). */
async function foundInSentItems(client: GraphClient, ctx: GraphContext, messageId: string): Promise<boolean> {
  const filter = encodeURIComponent(`internetMessageId eq '${messageId.replace(/'/g, "''")}'`);
  ctx.log.warn({ event: 'graph.send-unanswered', messageId }, 'a sendMail got no answer; looking for the message in Sent Items');
  for (let attempt = 0; attempt < 3 && Date.now() + 1000 * attempt < ctx.deadline; attempt++) {
    if (attempt > 0) await sleep(1000);
    try {
      const answer = await client.call({ operation: 'findSent', method: 'GET', path: `/mailFolders/SentItems/messages?$filter=${filter}&$select=id` }, ctx);
      const found = (JSON.parse(answer.body.toString('utf8')) as { value?: unknown[] }).value;
      if (Array.isArray(found) && found.length > 0) return true;
    } catch {
      return false;
    }
  }
  return false;
}

/** The draft's recipients: each envelope address where the header has it (To, Cc), else Bcc. */
export function placeRecipients(recipients: readonly string[], headers: HeaderRecipients): HeaderRecipients {
  const placed: HeaderRecipients = { to: [], cc: [], bcc: [] };
  const seen = new Set<string>();
  for (const address of recipients) {
    if (seen.has(address.toLowerCase())) continue;
    seen.add(address.toLowerCase());
    const inTo = headers.to.find((r) => sameAddress(r.address, address));
    const inCc = headers.cc.find((r) => sameAddress(r.address, address));
    if (inTo) placed.to.push({ ...inTo, address });
    else if (inCc) placed.cc.push({ ...inCc, address });
    else placed.bcc.push(headers.bcc.find((r) => sameAddress(r.address, address)) ?? { address });
  }
  return placed;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a.map((x) => x.toLowerCase()));
  const right = new Set(b.map((x) => x.toLowerCase()));
  return left.size === right.size && [...left].every((x) => right.has(x));
}

export { GraphUnreachable };
