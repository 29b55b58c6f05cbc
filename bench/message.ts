/** One line of the bench's messages: 64 bytes with its CRLF, no leading dot (nothing to stuff). */
const LINE = 'The quick brown fox jumps over the lazy dog 0123456789 abcdefg\r\n';

/** A message of `bytes` bytes (a multiple of 64) made of LINE, so it ends with CRLF. */
export function benchMessage(bytes: number): Buffer {
  if (bytes % LINE.length !== 0) throw new Error(`message size must be a multiple of ${LINE.length}`);
  return Buffer.alloc(bytes, LINE);
}
