const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Text of a username or password as a client sent it. UTF-8 when the bytes are valid UTF-8;
 * otherwise ISO-8859-1, which is what older clients send for non-ASCII passwords (Jakarta
 * Mail's POP3 AUTH LOGIN, for one, found by the peer tests). Latin-1 decoding never fails, so
 * such a client can still log in with "Müller" configured in the hash.
 */
export function decodeCredential(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}
