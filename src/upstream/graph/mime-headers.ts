import { randomUUID } from 'node:crypto';

/**
 * The parts of a message's header the Graph path needs: the header's fields and the addresses
 * in To, Cc, Bcc and From (RFC 5322 section 3.4 address lists: display names, quoted strings,
 * comments, groups; RFC 2047 encoded words in names). Pure; the message is never changed here.
 */

export interface HeaderField {
  /** Lower-cased. */
  name: string;
  /** Unfolded, decoded as UTF-8 (8-bit headers, RFC 6532). */
  value: string;
}

export interface NamedAddress {
  address: string;
  name?: string;
}

/** Where the header ends: the index of the empty line's first byte, and where the body starts. */
export function headerEnd(message: Buffer): { end: number; bodyStart: number } {
  const crlf = message.indexOf('\r\n\r\n');
  if (crlf !== -1) return { end: crlf + 2, bodyStart: crlf + 4 };
  if (message.subarray(0, 2).toString('latin1') === '\r\n') return { end: 0, bodyStart: 2 };
  return { end: message.length, bodyStart: message.length };
}

export function headerFields(header: Buffer): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const line of header.toString('utf8').split('\r\n')) {
    if (line === '') continue;
    const last = fields.at(-1);
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      last.value += line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() });
  }
  return fields;
}

/** The fields of a whole message. */
export function messageHeader(message: Buffer): HeaderField[] {
  return headerFields(message.subarray(0, headerEnd(message).end));
}

export interface HeaderRecipients {
  to: NamedAddress[];
  cc: NamedAddress[];
  bcc: NamedAddress[];
}

export function headerRecipients(fields: readonly HeaderField[]): HeaderRecipients {
  const of = (name: string) => fields.filter((f) => f.name === name).flatMap((f) => parseAddressList(f.value));
  return { to: of('to'), cc: of('cc'), bcc: of('bcc') };
}

export function fromAddress(fields: readonly HeaderField[]): string | undefined {
  const from = fields.find((f) => f.name === 'from');
  return from ? parseAddressList(from.value)[0]?.address : undefined;
}

/** Splits at top-level commas: not inside quotes, comments or angle brackets. */
function splitTopLevel(text: string): string[] {
  const pieces: string[] = [];
  let depth = 0;
  let quoted = false;
  let angle = false;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '\\') current += text[i++] ?? '';
      else if (c === '"') quoted = false;
    } else if (depth > 0) {
      if (c === '(') depth++;
      else if (c === ')') depth--;
    } else if (c === '"') quoted = true;
    else if (c === '(') depth++;
    else if (c === '<') angle = true;
    else if (c === '>') angle = false;
    else if ((c === ',' || c === ';') && !angle) {
      pieces.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  pieces.push(current);
  return pieces;
}

/** Comments out, quotes resolved. */
function plainPhrase(text: string): string {
  return text.replace(/\((?:[^()\\]|\\.)*\)/g, ' ').replace(/"((?:[^"\\]|\\.)*)"/g, (_, inner: string) => inner.replace(/\\(.)/g, '$1')).replace(/\s+/g, ' ').trim();
}

export function parseAddressList(value: string): NamedAddress[] {
  const addresses: NamedAddress[] = [];
  for (let piece of splitTopLevel(value)) {
    // A group's name ("undisclosed-recipients:") goes before its first member.
    const groupColon = piece.search(/^[^"<(]*:/);
    if (groupColon === 0) piece = piece.slice(piece.indexOf(':') + 1);
    const angle = /<([^<>]*)>\s*(?:\([^)]*\)\s*)*$/.exec(piece);
    if (angle) {
      const address = angle[1]!.replace(/^@[^:]*:/, '').trim();
      const name = decodeWords(plainPhrase(piece.slice(0, angle.index)));
      if (address) addresses.push(name ? { address, name } : { address });
      continue;
    }
    const address = plainPhrase(piece).replace(/\s/g, '');
    if (address.includes('@')) addresses.push({ address });
  }
  return addresses;
}

/** RFC 2047 encoded words (=?charset?B|Q?text?=) as text; unknown charsets stay as they are. */
export function decodeWords(text: string): string {
  return text.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=(\s+(?==\?))?/g, (word, charset: string, encoding: string, data: string) => {
    try {
      const bytes = encoding.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64')
        : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
      return new TextDecoder(charset.split('*')[0]!.toLowerCase()).decode(bytes);
    } catch {
      return word;
    }
  });
}

/** Addresses compare case-insensitively (the local part is case-sensitive in theory, never in Exchange). */
export function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * The message with a Message-ID: as it came when it has one, else with one added in front (a
 * submission server may add it, RFC 6409 section 8.3). It lets a send whose answer was lost be
 * looked up in Sent Items.
 */
export function withMessageId(message: Buffer, domain: string): Buffer {
  if (messageHeader(message).some((f) => f.name === 'message-id')) return message;
  return Buffer.concat([Buffer.from(`Message-ID: <${randomUUID()}@${domain}>\r\n`, 'latin1'), message]);
}
