const DOT = 0x2e;
const LF = 0x0a;
const CR = 0x0d;

/**
 * SMTP DATA transparency (RFC 5321 section 4.5.2), streaming: every line that starts with "."
 * gets one more, and the message ends with CRLF "." CRLF. Pure; works across chunk borders.
 */
export class DotStuffer {
  #atLineStart = true;
  #last2: [number, number] = [LF, LF];

  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const pieces: Buffer[] = [];
    let from = 0;
    if (this.#atLineStart && chunk[0] === DOT) {
      pieces.push(Buffer.from('.'));
    }
    for (let at = chunk.indexOf(LF); at !== -1 && at + 1 < chunk.length; at = chunk.indexOf(LF, at + 1)) {
      if (chunk[at + 1] === DOT) {
        pieces.push(chunk.subarray(from, at + 1), Buffer.from('.'));
        from = at + 1;
      }
    }
    pieces.push(chunk.subarray(from));
    this.#atLineStart = chunk[chunk.length - 1] === LF;
    this.#last2 = chunk.length >= 2 ? [chunk[chunk.length - 2]!, chunk[chunk.length - 1]!] : [this.#last2[1], chunk[0]!];
    return pieces.length === 1 ? chunk : Buffer.concat(pieces);
  }

  /** The terminator; adds the CRLF a message must end with when it lacks one. */
  end(): Buffer {
    const [a, b] = this.#last2;
    const endsWithCrlf = a === CR && b === LF;
    return Buffer.from(endsWithCrlf ? '.\r\n' : '\r\n.\r\n');
  }
}
