// POST /users/{id}/sendMail with a base64 MIME body (Content-Type: text/plain): Graph takes the
// recipients from the To/Cc/Bcc headers, checks the sender, sends, and answers 202 Accepted.
import { badRequest, graphError, messageTooLarge, type GraphAnswer } from './answer.js';
import type { GraphRequest } from './context.js';
import { deliverOutgoing } from './delivery.js';
import { fromAddress, headerRecipients, withoutBcc, type HeaderRecipients } from './mime.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The MIME from a text/plain body. Graph documents 400 "Invalid base64 string for MIME
 * content." for malformed content; the error code is the one Graph answers with.
 */
export function decodeMime(request: GraphRequest): Buffer | GraphAnswer {
  if (request.contentType !== 'text/plain') {
    // The sandbox implements the MIME form only; the JSON form is not used by the proxy.
    return badRequest('The sandbox implements only the MIME form of this call (Content-Type: text/plain).');
  }
  const text = request.body.toString('latin1').replace(/\s+/g, '');
  const mime = BASE64.test(text) && text.length % 4 === 0 ? Buffer.from(text, 'base64') : undefined;
  if (!mime || mime.length === 0) return graphError(400, 'ErrorMimeContentInvalidBase64String', 'Invalid base64 string for MIME content.');
  return mime;
}

/** Exchange's refusal of a message without recipients (wording as Graph reports it; assumed code). */
export const noRecipients = (): GraphAnswer =>
  graphError(400, 'ErrorInvalidRecipients', "At least one recipient is not valid., A message can't be sent because it contains no recipients.");

/** Graph's refusal of a From the mailbox may not send as (403, as reported by Graph users). */
export const sendAsDenied = (): GraphAnswer =>
  graphError(403, 'ErrorSendAsDenied', 'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.');

export const recipientCount = (r: HeaderRecipients): number => r.to.length + r.cc.length + r.bcc.length;

export function sendMail(request: GraphRequest): GraphAnswer {
  const mime = decodeMime(request);
  if (!Buffer.isBuffer(mime)) return mime;
  const recipients = headerRecipients(mime);
  if (recipientCount(recipients) === 0) return noRecipients();
  if (!request.state.maySendAs(request.mailbox.address, fromAddress(mime))) return sendAsDenied();
  if (mime.length > request.maxMessageBytes) return messageTooLarge();
  deliverOutgoing(request.store, request.state, {
    mailbox: request.mailbox.address,
    via: 'sendMail',
    ...recipients,
    mime: withoutBcc(mime),
    attachments: [],
    requestId: request.requestId,
  });
  return { status: 202 };
}
