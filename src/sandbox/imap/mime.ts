// Just enough RFC 5322 / MIME to answer FETCH: split header and body, pick header fields,
// find body parts by number, and describe the structure (BODYSTRUCTURE) and the envelope.
// Everything works on raw bytes (latin1 strings) and never alters the message.
import { splitMessage } from '../rfc5322.js';
import { imapString, nstring } from './format.js';

export interface MimePart {
  /** Header block including the empty line that ends it. */
  header: Buffer;
  body: Buffer;
  type: string;
  subtype: string;
  params: Array<[string, string]>;
  children: MimePart[];
  /** The encapsulated message of a message/rfc822 part. */
  message?: MimePart;
}

const MAX_DEPTH = 20;

export interface HeaderField {
  name: string;
  /** The field as it appears, folded lines and line endings included. */
  raw: string;
}

export function headerFields(header: Buffer): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const line of header.toString('latin1').split(/(?<=\n)/)) {
    if (line === '\r\n' || line === '\n') break;
    const last = fields[fields.length - 1];
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) last.raw += line;
    else {
      const colon = line.indexOf(':');
      fields.push({ name: colon > 0 ? line.slice(0, colon).trim().toLowerCase() : '', raw: line });
    }
  }
  return fields;
}

/** The unfolded value of the first field called `name`. */
export function headerValue(fields: HeaderField[], name: string): string | undefined {
  const field = fields.find((f) => f.name === name.toLowerCase());
  if (!field) return undefined;
  return field.raw.slice(field.raw.indexOf(':') + 1).replace(/\r?\n(?=[ \t])/g, '').replace(/\r?\n$/, '').trim();
}

/** BODY[HEADER.FIELDS (...)] and BODY[HEADER.FIELDS.NOT (...)]: the chosen fields plus the empty line. */
export function pickFields(header: Buffer, names: string[], exclude: boolean): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const picked = headerFields(header).filter((f) => f.name !== '' && wanted.has(f.name) !== exclude);
  return Buffer.from(picked.map((f) => (f.raw.endsWith('\n') ? f.raw : `${f.raw}\r\n`)).join('') + '\r\n', 'latin1');
}

function parseContentType(value: string | undefined): { type: string; subtype: string; params: Array<[string, string]> } {
  const fallback = { type: 'TEXT', subtype: 'PLAIN', params: [['CHARSET', 'us-ascii']] as Array<[string, string]> };
  if (!value) return fallback;
  const [mediaType = '', ...rest] = splitParams(value);
  const slash = mediaType.indexOf('/');
  if (slash <= 0) return fallback;
  return { type: mediaType.slice(0, slash).trim().toUpperCase(), subtype: mediaType.slice(slash + 1).trim().toUpperCase(), params: parseParams(rest) };
}

/** Splits "a; b=c; d=\"e;f\"" on semicolons outside quotes. */
function splitParams(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    if (char === '"' && value[i - 1] !== '\\') quoted = !quoted;
    if (char === ';' && !quoted) {
      parts.push(current.trim());
      current = '';
    } else current += char;
  }
  parts.push(current.trim());
  return parts;
}

function parseParams(parts: string[]): Array<[string, string]> {
  const params: Array<[string, string]> = [];
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    params.push([part.slice(0, eq).trim().toUpperCase(), value]);
  }
  return params;
}

export function parseMime(raw: Buffer, depth = 0): MimePart {
  const { header, body } = splitMessage(raw);
  const fields = headerFields(header);
  const { type, subtype, params } = parseContentType(headerValue(fields, 'content-type'));
  const part: MimePart = { header, body, type, subtype, params, children: [] };
  if (depth >= MAX_DEPTH) return part;
  const boundary = params.find(([k]) => k === 'BOUNDARY')?.[1];
  if (type === 'MULTIPART' && boundary) part.children = splitMultipart(body, boundary).map((p) => parseMime(p, depth + 1));
  else if (type === 'MESSAGE' && subtype === 'RFC822') part.message = parseMime(body, depth + 1);
  return part;
}

/** The parts between "--boundary" delimiter lines; the line break before a delimiter belongs to it. */
function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const starts: Array<{ lineStart: number; after: number; close: boolean }> = [];
  let from = 0;
  for (;;) {
    const at = body.indexOf(delimiter, from);
    if (at < 0) break;
    from = at + delimiter.length;
    if (at !== 0 && body[at - 1] !== 0x0a) continue;
    const close = body[from] === 0x2d && body[from + 1] === 0x2d;
    const eol = body.indexOf(0x0a, from);
    const lineStart = at >= 2 && body[at - 2] === 0x0d ? at - 2 : at > 0 ? at - 1 : 0;
    starts.push({ lineStart, after: eol < 0 ? body.length : eol + 1, close });
    if (close) break;
  }
  const parts: Buffer[] = [];
  for (let i = 0; i + 1 < starts.length; i++) parts.push(body.subarray(starts[i]!.after, starts[i + 1]!.lineStart));
  return parts;
}

/** The part a section number names ("1", "2.1"); undefined when there is none. */
export function findPart(root: MimePart, numbers: number[]): MimePart | undefined {
  let part: MimePart | undefined = root;
  for (const n of numbers) {
    if (!part) return undefined;
    const container: MimePart = part.message ?? part;
    if (container.children.length > 0) part = container.children[n - 1];
    else part = n === 1 ? container : undefined;
  }
  return part;
}

/** Body lines; a last line without a line break (before a MIME boundary) counts too. */
const countLines = (body: Buffer): number => {
  let lines = 0;
  for (let at = body.indexOf(0x0a); at >= 0; at = body.indexOf(0x0a, at + 1)) lines++;
  return body.length > 0 && body[body.length - 1] !== 0x0a ? lines + 1 : lines;
};

const paramList = (params: Array<[string, string]>): string =>
  params.length === 0 ? 'NIL' : `(${params.map(([k, v]) => `${imapString(k)} ${imapString(v)}`).join(' ')})`;

/** BODYSTRUCTURE (extensible) or BODY (non-extensible) of a part. */
export function bodyStructure(part: MimePart, extensible: boolean): string {
  const fields = headerFields(part.header);
  if (part.children.length > 0) {
    const children = part.children.map((c) => bodyStructure(c, extensible)).join('');
    const extension = extensible ? ` ${paramList(part.params)} NIL NIL NIL` : '';
    return `(${children} ${imapString(part.subtype)}${extension})`;
  }
  const encoding = headerValue(fields, 'content-transfer-encoding')?.toUpperCase() ?? '7BIT';
  let text = `${imapString(part.type)} ${imapString(part.subtype)} ${paramList(part.params)} ${nstring(headerValue(fields, 'content-id'))} ${nstring(headerValue(fields, 'content-description'))} ${imapString(encoding)} ${part.body.length}`;
  if (part.message) text += ` ${envelope(part.message.header)} ${bodyStructure(part.message, extensible)} ${countLines(part.body)}`;
  else if (part.type === 'TEXT') text += ` ${countLines(part.body)}`;
  if (extensible) text += ` NIL ${disposition(headerValue(fields, 'content-disposition'))} NIL NIL`;
  return `(${text})`;
}

function disposition(value: string | undefined): string {
  if (!value) return 'NIL';
  const [kind = '', ...rest] = splitParams(value);
  return `(${imapString(kind.toUpperCase())} ${paramList(parseParams(rest))})`;
}

/** ENVELOPE: date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to, message-id. */
export function envelope(header: Buffer): string {
  const fields = headerFields(header);
  const value = (name: string): string | undefined => headerValue(fields, name);
  const from = addressList(value('from'));
  const sender = addressList(value('sender'));
  const replyTo = addressList(value('reply-to'));
  return `(${[
    nstring(value('date')),
    nstring(value('subject')),
    from,
    sender === 'NIL' ? from : sender,
    replyTo === 'NIL' ? from : replyTo,
    addressList(value('to')),
    addressList(value('cc')),
    addressList(value('bcc')),
    nstring(value('in-reply-to')),
    nstring(value('message-id')),
  ].join(' ')})`;
}

/** Address list, simplified: "Name <a@b>", "a@b" and "\"Name\" <a@b>" separated by commas. */
function addressList(value: string | undefined): string {
  if (!value) return 'NIL';
  const addresses: string[] = [];
  for (const item of splitAddresses(value)) {
    const angle = /^(.*)<([^>]*)>\s*$/.exec(item);
    let name = angle ? angle[1]!.trim() : '';
    const address = (angle ? angle[2]! : item).trim();
    if (name.startsWith('"') && name.endsWith('"') && name.length >= 2) name = name.slice(1, -1).replace(/\\(.)/g, '$1');
    const at = address.lastIndexOf('@');
    const mailbox = at < 0 ? address : address.slice(0, at);
    const host = at < 0 ? undefined : address.slice(at + 1);
    addresses.push(`(${nstring(name || undefined)} NIL ${nstring(mailbox)} ${nstring(host)})`);
  }
  return addresses.length === 0 ? 'NIL' : `(${addresses.join('')})`;
}

function splitAddresses(value: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  let angle = 0;
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    if (char === '"' && value[i - 1] !== '\\') quoted = !quoted;
    else if (!quoted && char === '<') angle++;
    else if (!quoted && char === '>') angle = Math.max(0, angle - 1);
    if (char === ',' && !quoted && angle === 0) {
      if (current.trim()) items.push(current.trim());
      current = '';
    } else current += char;
  }
  if (current.trim()) items.push(current.trim());
  return items;
}
