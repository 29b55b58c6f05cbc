import { attachableSeparately } from './limits.js';
import { decodeWords, headerEnd, headerFields, type HeaderField } from './mime-headers.js';

/** A file part taken out of the message, to be attached to the draft separately. */
export interface TakenAttachment {
  name: string;
  contentType: string;
  contentId?: string;
  isInline: boolean;
  bytes: Buffer;
}

export interface SlimMessage {
  /** The message without the taken parts: same header, same structure otherwise. */
  mime: Buffer;
  attachments: TakenAttachment[];
}

/** Base64 length of `bytes` bytes, as Graph receives MIME. */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

interface Part {
  start: number;
  end: number;
  fields: HeaderField[];
  body: Buffer;
}

/**
 * Takes file parts out of a top-level multipart message, largest first, until what is left
 * fits one Graph request as base64 (`maxBase64`). Undefined when it cannot fit: not multipart,
 * or too large even without its file parts.
 */
export function takeOutAttachments(message: Buffer, maxBase64: number): SlimMessage | undefined {
  if (base64Length(message.length) <= maxBase64) return { mime: message, attachments: [] };
  const { end, bodyStart } = headerEnd(message);
  const boundary = boundaryOf(headerFields(message.subarray(0, end)));
  if (!boundary) return undefined;
  // A file in the narrow gap between Graph's JSON and upload-session sizes stays in the MIME.
  const parts = splitParts(message, bodyStart, boundary)
    .filter((part) => isFile(part) && attachableSeparately(decodedLength(part)))
    .sort((a, b) => b.body.length - a.body.length);
  const taken: Part[] = [];
  let size = message.length;
  for (const part of parts) {
    if (base64Length(size) <= maxBase64) break;
    taken.push(part);
    size -= part.end - part.start;
  }
  if (base64Length(size) > maxBase64) return undefined;
  const kept: Buffer[] = [];
  let at = 0;
  for (const part of [...taken].sort((a, b) => a.start - b.start)) {
    kept.push(message.subarray(at, part.start));
    at = part.end;
  }
  kept.push(message.subarray(at));
  return { mime: Buffer.concat(kept), attachments: taken.map(attachmentOf) };
}

function param(value: string, name: string): string | undefined {
  // RFC 2231 extended value (name*=utf-8''a%20b) first, then the plain or quoted one.
  const extended = new RegExp(`;\\s*${name}\\*=([^;]*)`, 'i').exec(value);
  if (extended) {
    const [, charset, , text] = /^([^']*)'([^']*)'(.*)$/.exec(extended[1]!.trim().replace(/^"|"$/g, '')) ?? [];
    if (text !== undefined) {
      try {
        return new TextDecoder(charset || 'utf-8').decode(unescapeBytes(text));
      } catch {
        return text;
      }
    }
  }
  const plain = new RegExp(`;\\s*${name}\\s*=\\s*("((?:[^"\\\\]|\\\\.)*)"|[^;\\s]+)`, 'i').exec(value);
  if (!plain) return undefined;
  return plain[2] !== undefined ? plain[2].replace(/\\(.)/g, '$1') : plain[1];
}

/** %XX escapes of an RFC 2231 value as bytes. */
function unescapeBytes(text: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(text.charCodeAt(i) & 0xff);
  }
  return Uint8Array.from(bytes);
}

function field(fields: readonly HeaderField[], name: string): string {
  return fields.find((f) => f.name === name)?.value ?? '';
}

function boundaryOf(fields: readonly HeaderField[]): string | undefined {
  const type = field(fields, 'content-type');
  return /^multipart\//i.test(type) ? param(type, 'boundary') : undefined;
}

/** The body parts between the boundary lines; each from its delimiter line's CRLF to the next one's. */
function splitParts(message: Buffer, bodyStart: number, boundary: string): Part[] {
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  const starts: number[] = [];
  // The first delimiter may open the body without a CRLF before it.
  let at = message.subarray(bodyStart, bodyStart + delimiter.length - 2).equals(delimiter.subarray(2)) ? bodyStart - 2 : message.indexOf(delimiter, bodyStart);
  while (at !== -1) {
    starts.push(at);
    at = message.indexOf(delimiter, at + delimiter.length);
  }
  const parts: Part[] = [];
  for (let i = 0; i + 1 < starts.length; i++) {
    const lineEnd = message.indexOf('\r\n', starts[i]! + delimiter.length);
    if (lineEnd === -1 || lineEnd > starts[i + 1]!) continue;
    const content = message.subarray(lineEnd + 2, starts[i + 1]!);
    const { end, bodyStart: partBody } = headerEnd(content);
    // Cut from this delimiter to the next: removing the range keeps the other parts intact
    // (a first delimiter at the very start of the body keeps the header's empty line).
    parts.push({ start: Math.max(starts[i]!, bodyStart), end: starts[i + 1]!, fields: headerFields(content.subarray(0, end)), body: content.subarray(partBody) });
  }
  return parts;
}

/** A leaf part with a file name, or one that says it is an attachment. */
function isFile(part: Part): boolean {
  const type = field(part.fields, 'content-type');
  if (/^multipart\//i.test(type) || /^message\//i.test(type)) return false;
  const disposition = field(part.fields, 'content-disposition');
  return /^attachment/i.test(disposition) || param(disposition, 'filename') !== undefined || param(type, 'name') !== undefined;
}

function attachmentOf(part: Part): TakenAttachment {
  const type = field(part.fields, 'content-type') || 'application/octet-stream';
  const disposition = field(part.fields, 'content-disposition');
  const name = decodeWords(param(disposition, 'filename') ?? param(type, 'name') ?? 'attachment');
  const contentId = field(part.fields, 'content-id').replace(/^<|>$/g, '');
  return {
    name,
    contentType: type.split(';')[0]!.trim().toLowerCase(),
    ...(contentId ? { contentId } : {}),
    isInline: /^inline/i.test(disposition),
    bytes: decodeBody(part.body, field(part.fields, 'content-transfer-encoding').toLowerCase()),
  };
}

/** The file's size once decoded (base64 estimated from its characters). */
function decodedLength(part: Part): number {
  if (field(part.fields, 'content-transfer-encoding').toLowerCase() !== 'base64') return decodeBody(part.body, field(part.fields, 'content-transfer-encoding').toLowerCase()).length;
  let chars = 0;
  for (const byte of part.body) if (byte !== 0x0d && byte !== 0x0a && byte !== 0x20 && byte !== 0x3d) chars++;
  return Math.floor((chars * 3) / 4);
}

function decodeBody(body: Buffer, encoding: string): Buffer {
  if (encoding === 'base64') return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (encoding === 'quoted-printable') {
    const text = body.toString('latin1').replace(/=\r\n/g, '');
    return Buffer.from(text.replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  }
  return body;
}
