/**
 * Graph's sizes for one message (Outlook mail API, see README "Sending through Microsoft
 * Graph"): 4 MB per request (base64 MIME or JSON included), file attachments under 3 MB by a
 * plain POST, larger ones through an upload session in ranges of at most 4 MB. The margins
 * leave room for JSON and headers.
 */
export const MAX_REQUEST_BASE64 = 4 * 1024 * 1024 - 64 * 1024;
/** Up to this, a taken-out attachment is posted as JSON (its base64 then fits one request). */
export const MAX_JSON_ATTACHMENT_BYTES = 3 * 1024 * 1024 - 64 * 1024;
/** Ten times 320 KiB (the range unit upload sessions favour): below 4 MiB. */
export const UPLOAD_CHUNK_BYTES = 10 * 320 * 1024;
