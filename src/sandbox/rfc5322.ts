// The one piece of RFC 5322 several servers need: where a message's header ends.

/** Header (including the empty line that ends it) and body, as views of `raw` (no copy). */
export function splitMessage(raw: Buffer): { header: Buffer; body: Buffer } {
  if (raw.length >= 2 && raw[0] === 0x0d && raw[1] === 0x0a) return { header: raw.subarray(0, 2), body: raw.subarray(2) };
  if (raw.length >= 1 && raw[0] === 0x0a) return { header: raw.subarray(0, 1), body: raw.subarray(1) };
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf + 1 <= lf)) return { header: raw.subarray(0, crlf + 4), body: raw.subarray(crlf + 4) };
  if (lf >= 0) return { header: raw.subarray(0, lf + 2), body: raw.subarray(lf + 2) };
  return { header: raw, body: raw.subarray(raw.length) };
}
