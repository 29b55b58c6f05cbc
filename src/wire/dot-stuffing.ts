const DOT = 0x2e;
const LF = 0x0a;
const CR = 0x0d;
const CRLF_DOT = Buffer.from('\r\n.');
const LF_DOT = Buffer.from('\n.');
const CR_ONLY = Buffer.from('\r');

/**
 * SMTP DATA transparency (RFC 5321 section 4.5.2), streaming: every line that starts with "."
 * gets one more, and the message ends with CRLF "." CRLF. Pure; works across chunk borders.
 *
 * A line here starts after any LF, bare ones included: lenient servers (and the sandbox) take a
 * bare LF as a line end, and a "\n.\r\n" they saw unstuffed would end the message early
 * (SMTP smuggling). They also unstuff after a bare LF, so what they store is what was sent.
 */
export class DotStuffer {
  #atLineStart = true;
  #sentAny = false;
  #last2: [number, number] = [LF, LF];

  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    this.#sentAny = true;
    const pieces: Buffer[] = [];
    let from = 0;
    if (this.#atLineStart && chunk[0] === DOT) {
      pieces.push(Buffer.from('.'));
    }
    // From one LF "." to the next, not line by line: most messages have few lines to stuff.
    for (let at = chunk.indexOf(LF_DOT); at !== -1; at = chunk.indexOf(LF_DOT, at + 1)) {
      pieces.push(chunk.subarray(from, at + 1), Buffer.from('.'));
      from = at + 1;
    }
    pieces.push(chunk.subarray(from));
    this.#atLineStart = chunk[chunk.length - 1] === LF;
    this.#last2 = chunk.length >= 2 ? [chunk[chunk.length - 2]!, chunk[chunk.length - 1]!] : [this.#last2[1], chunk[0]!];
    return pieces.length === 1 ? chunk : Buffer.concat(pieces);
  }

  /**
   * The terminator; adds the CRLF a message must end with when it lacks one. An empty message
   * is the terminator alone: an extra CRLF would deliver a message of one empty line.
   */
  end(): Buffer {
    if (!this.#sentAny) return Buffer.from('.\r\n');
    const [a, b] = this.#last2;
    const endsWithCrlf = a === CR && b === LF;
    return Buffer.from(endsWithCrlf ? '.\r\n' : '\r\n.\r\n');
  }
}

/** Where a DotUnstuffer is in the current line. */
type LinePosition =
  | 'line-start' // after CRLF, or at the start of the data
  | 'dot' // a "." at the start of a line, dropped unless the line is the terminator
  | 'dot-cr' // "." CR at the start of a line: the terminator if LF follows
  | 'cr' // after a CR inside a line
  | 'in-line';

/**
 * The receiving side of DATA transparency, as RFC 5321 section 4.5.2 has it: only CRLF ends a
 * line; a line "." CRLF ends the message; any other line starting with "." loses that dot.
 * So a bare LF or a bare CR never starts a line: "\n..", "\n.\n" and "\r.\r\n" are message
 * data, kept as they are, and cannot end the message early (SMTP smuggling). Pure and
 * streaming: feed the bytes the client sent after the 354 in chunks as they come.
 */
export class DotUnstuffer {
  #at: LinePosition = 'line-start';

  /**
   * Returns the message bytes in `chunk`; once the terminator was seen, also `rest`: the bytes
   * that followed it (pipelined commands). Not to be fed after that.
   */
  push(chunk: Buffer): { data: Buffer; rest?: Buffer } {
    const data: Buffer[] = [];
    let from = 0;
    let at = 0;
    while (at < chunk.length) {
      const byte = chunk[at]!;
      switch (this.#at) {
        case 'line-start':
          if (byte !== DOT) {
            this.#at = 'in-line';
            break;
          }
          data.push(chunk.subarray(from, at));
          from = ++at;
          this.#at = 'dot';
          break;
        case 'dot':
          if (byte === CR) {
            // Held back: part of the terminator, or message data if no LF follows.
            from = ++at;
            this.#at = 'dot-cr';
          } else {
            this.#at = 'in-line';
          }
          break;
        case 'dot-cr':
          if (byte === LF) return { data: joined(data), rest: chunk.subarray(at + 1) };
          data.push(CR_ONLY);
          this.#at = 'cr';
          break;
        case 'cr':
          if (byte === LF) {
            at++;
            this.#at = 'line-start';
          } else {
            this.#at = 'in-line';
          }
          break;
        case 'in-line': {
          // Only a line that starts with a dot needs a look; skip straight to the next one.
          const next = chunk.indexOf(CRLF_DOT, at);
          if (next === -1) {
            this.#at = endState(chunk, at);
            at = chunk.length;
          } else {
            at = next + 2;
            this.#at = 'line-start';
          }
          break;
        }
      }
    }
    data.push(chunk.subarray(from));
    return { data: joined(data) };
  }
}

/** Where a chunk that has no CRLF "." after `from` leaves the next one: its end may split a CRLF or a CRLF ".". */
function endState(chunk: Buffer, from: number): LinePosition {
  const last = chunk.length - 1;
  if (chunk[last] === CR) return 'cr';
  if (chunk[last] === LF && last - 1 >= from && chunk[last - 1] === CR) return 'line-start';
  return 'in-line';
}

function joined(pieces: Buffer[]): Buffer {
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}
