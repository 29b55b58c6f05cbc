/** Strict base64 as SASL uses it (RFC 4648 section 4, padding required, no whitespace). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes strict base64; returns undefined for anything else, so callers answer with a protocol error. */
export function decodeBase64(text: string): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

export function encodeBase64(data: Buffer | string): string {
  return Buffer.from(data).toString('base64');
}
