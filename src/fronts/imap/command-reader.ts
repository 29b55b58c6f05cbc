/**
 * Splits the bytes an IMAP client sends before login into commands (RFC 3501 section 2.2,
 * RFC 7888 for LITERAL+). Pure: no sockets. The session pulls one event at a time with
 * `next()`, so bytes after a command stay here until the session is ready for them, and
 * whatever was never consumed can be handed to the upstream after login (`takeRemaining`).
 *
 * Grammar handled (enough for every pre-login command):
 *   command  = tag SP name *(SP arg) CRLF
 *   arg      = atom | quoted | literal | "(" | ")"
 *   quoted   = DQUOTE *(char except CR LF DQUOTE backslash | "\" DQUOTE | "\\") DQUOTE
 *   literal  = "{" number ["+"] "}" CRLF *OCTET     ; exactly number octets
 */

import { decodeCredential } from '../../auth/sasl/text.js';
import { LineBuffer, LineTooLongError } from '../../wire/line-buffer.js';

export type ImapToken = { type: 'atom'; value: string } | { type: 'string'; value: Buffer };

export interface ImapCommand {
  tag: string;
  name: string; // upper-cased
  args: ImapToken[];
}

export type ImapReaderEvent =
  | { type: 'command'; command: ImapCommand }
  /** The client announced a synchronizing literal: answer "+ ..." before it sends the octets. */
  | { type: 'continue' }
  /** A malformed command. `fatal` means the byte stream cannot be trusted any more: close. */
  | { type: 'error'; tag?: string; message: string; fatal: boolean }
  /** A raw line (for SASL continuations), without CRLF. */
  | { type: 'line'; line: Buffer };

export interface ImapReaderLimits {
  maxLineBytes: number;
  maxLiteralBytes: number;
  /**
   * All of one command: its lines and all its literals. Without it, a command chained from
   * non-synchronizing literals (`{1+}` repeated) grows without bound while each part is small.
   */
  maxCommandBytes: number;
}

const LITERAL_SUFFIX = /\{(\d{1,10})(\+?)\}$/;
const DEFAULT_LIMITS: ImapReaderLimits = { maxLineBytes: 8192, maxLiteralBytes: 65536, maxCommandBytes: 65536 };

export class ImapCommandReader {
  readonly #lines: LineBuffer;
  /** Parts of the command being assembled: line text (latin1, literal marker removed) and literals. */
  #parts: Array<string | Buffer> = [];
  #literalBytes = 0;
  /** Bytes taken so far by the command being assembled (lines with CRLF, literals). */
  #commandBytes = 0;
  readonly #limits: ImapReaderLimits;

  constructor(limits: Partial<ImapReaderLimits> = {}) {
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
    this.#lines = new LineBuffer(this.#limits.maxLineBytes);
  }

  push(chunk: Buffer): void {
    this.#lines.push(chunk);
  }

  /** Bytes received but not consumed yet; clears them. */
  takeRemaining(): Buffer {
    return this.#lines.takeRemaining();
  }

  /** Drops everything buffered: after STARTTLS, bytes sent in plaintext must not be trusted. */
  reset(): void {
    this.#lines.takeRemaining();
    this.#parts = [];
    this.#literalBytes = 0;
    this.#commandBytes = 0;
  }

  /** Next raw line (SASL continuation), or undefined if no complete line is buffered. */
  nextLine(): ImapReaderEvent | undefined {
    return this.#line();
  }

  /** Next command event, or undefined when more bytes are needed. */
  next(): ImapReaderEvent | undefined {
    for (;;) {
      if (this.#literalBytes > 0) {
        const literal = this.#lines.take(this.#literalBytes);
        if (!literal) return undefined;
        this.#parts.push(Buffer.from(literal));
        this.#literalBytes = 0;
      }
      const event = this.#line();
      if (event?.type !== 'line') return event;
      const line = event.line;
      const text = line.toString('latin1');
      this.#commandBytes += line.length + 2;

      const literal = LITERAL_SUFFIX.exec(text);
      if (!literal) {
        const parts = [...this.#parts, text];
        this.#parts = [];
        this.#commandBytes = 0;
        return parseCommand(parts);
      }
      this.#parts.push(text.slice(0, literal.index));
      const announced = this.#announceLiteral(Number(literal[1]), literal[2] !== '+');
      if (announced !== 'read-on') return announced;
    }
  }

  /**
   * After a line ending in `{size}` or `{size+}`: refuses a literal over the limits, asks for a
   * synchronizing one, or reads on (`read-on`) when its octets may follow at once.
   */
  #announceLiteral(size: number, synchronizing: boolean): ImapReaderEvent | 'read-on' {
    if (size > this.#limits.maxLiteralBytes || this.#commandBytes + size > this.#limits.maxCommandBytes) {
      const tag = tagOf(this.#parts);
      this.#parts = [];
      this.#commandBytes = 0;
      const message = size > this.#limits.maxLiteralBytes ? 'Literal too large.' : 'Command too long.';
      // A synchronizing literal was not sent yet, so the stream is still in step; the octets
      // of a non-synchronizing one are on their way and cannot be told from commands.
      if (!synchronizing) this.reset();
      return { type: 'error', tag, message, fatal: !synchronizing };
    }
    this.#commandBytes += size;
    this.#literalBytes = size;
    if (size === 0) this.#parts.push(Buffer.alloc(0));
    return synchronizing && size > 0 ? { type: 'continue' } : 'read-on';
  }

  /** The next line; undefined while it is incomplete; a fatal error once it is too long. */
  #line(): ImapReaderEvent | undefined {
    try {
      const line = this.#lines.nextLine();
      return line && { type: 'line', line };
    } catch (error) {
      if (!(error instanceof LineTooLongError)) throw error;
      this.reset();
      return { type: 'error', message: error.message, fatal: true };
    }
  }
}

function tagOf(parts: Array<string | Buffer>): string | undefined {
  const first = parts[0];
  if (typeof first !== 'string') return undefined;
  const tag = first.split(' ', 1)[0];
  return tag && isValidTag(tag) ? tag : undefined;
}

function isValidTag(tag: string): boolean {
  // tag = 1*<any ASTRING-CHAR except "+">; excludes SP, CTL, ( ) { % * " \ and "+".
  return /^[\x21-\x7e]+$/.test(tag) && !/[(){%*"\\+]/.test(tag);
}

function parseCommand(parts: Array<string | Buffer>): ImapReaderEvent {
  let tokens: ImapToken[];
  try {
    tokens = tokenize(parts);
  } catch (error) {
    return { type: 'error', tag: tagOf(parts), message: (error as Error).message, fatal: false };
  }
  const [tag, name, ...args] = tokens;
  // The tag is everything before the first space (RFC 3501 section 2.2.1): `a"b`, `a(2` or a
  // leading space make no tag, and the answer must not go to a shorter one the client never used.
  if (!tag || tag.type !== 'atom' || !isValidTag(tag.value) || tag.value !== tagOf(parts)) {
    return { type: 'error', message: 'Missing or invalid tag.', fatal: false };
  }
  if (!name || name.type !== 'atom') {
    return { type: 'error', tag: tag.value, message: 'Missing command.', fatal: false };
  }
  return { type: 'command', command: { tag: tag.value, name: name.value.toUpperCase(), args } };
}

function tokenize(parts: Array<string | Buffer>): ImapToken[] {
  const tokens: ImapToken[] = [];
  for (const part of parts) {
    if (typeof part !== 'string') {
      tokens.push({ type: 'string', value: part });
      continue;
    }
    let at = 0;
    while (at < part.length) {
      const char = part[at]!;
      if (char === ' ') {
        at++;
      } else if (char === '"') {
        at = readQuoted(part, at + 1, tokens);
      } else if (char === '(' || char === ')') {
        tokens.push({ type: 'atom', value: char });
        at++;
      } else {
        let end = at;
        while (end < part.length && !' ()"'.includes(part[end]!)) end++;
        tokens.push({ type: 'atom', value: part.slice(at, end) });
        at = end;
      }
    }
  }
  return tokens;
}

/** Reads a quoted string starting after its opening quote; returns the index after the closing quote. */
function readQuoted(text: string, start: number, tokens: ImapToken[]): number {
  let value = '';
  for (let at = start; at < text.length; at++) {
    const char = text[at]!;
    if (char === '"') {
      tokens.push({ type: 'string', value: Buffer.from(value, 'latin1') });
      return at + 1;
    }
    if (char === '\\') {
      const escaped = text[at + 1];
      if (escaped !== '"' && escaped !== '\\') throw new Error('Invalid escape in quoted string.');
      value += escaped;
      at++;
    } else {
      value += char;
    }
  }
  throw new Error('Unterminated quoted string.');
}

/** The text of a token, for astring arguments such as LOGIN's (UTF-8, or Latin-1 from older clients). */
export function tokenText(token: ImapToken): string {
  return decodeCredential(token.type === 'atom' ? Buffer.from(token.value, 'latin1') : token.value);
}
