/**
 * Graph's sizes for one message (Outlook mail API; see README "Sending through Microsoft
 * Graph"): 4 MB per request (taken as 4 MiB), base64 MIME or JSON included; file attachments
 * under 3 MB by a plain POST, from 3 MB (taken as 3 MiB: Graph refuses smaller upload sessions
 * with ErrorAttachmentSizeShouldNotBeLessThanMinimumSize) through an upload session, in ranges
 * of at most 4 MB.
 */
export const MAX_REQUEST_BASE64 = 4 * 1024 * 1024 - 64 * 1024;
/** Up to this, an attachment is posted as JSON: its base64 and the JSON around it fit one request. */
export const MAX_JSON_ATTACHMENT_BYTES = 3 * 1024 * 1024 - 4 * 1024;
/** From this size on, an attachment goes through an upload session. */
export const MIN_UPLOAD_SESSION_BYTES = 3 * 1024 * 1024;
/** Ten times 320 KiB (the range unit upload sessions favour): below 4 MiB. */
export const UPLOAD_CHUNK_BYTES = 10 * 320 * 1024;

/** A file Graph can take apart from the MIME: small enough for JSON, or large enough for an upload session. */
export function attachableSeparately(bytes: number): boolean {
  return bytes <= MAX_JSON_ATTACHMENT_BYTES || bytes >= MIN_UPLOAD_SESSION_BYTES;
}
