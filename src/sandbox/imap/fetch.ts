// FETCH: which data items a client asked for, and the untagged FETCH response for one
// message. Message bytes are returned as Buffers so the session can stream them to the
// socket as literals, byte-exact, without building one huge string.
import type { StoredMessage } from '../mail-store.js';
import { splitMessage } from '../rfc5322.js';
import { flagList, internalDate } from './format.js';
import { bodyStructure, envelope, findPart, parseMime, pickFields, type MimePart } from './mime.js';
import type { ImapValue } from './parser.js';

type Simple = 'FLAGS' | 'UID' | 'RFC822.SIZE' | 'INTERNALDATE' | 'ENVELOPE' | 'BODYSTRUCTURE' | 'BODY' | 'RFC822' | 'RFC822.HEADER' | 'RFC822.TEXT';

export type FetchItem =
  | { kind: Simple }
  | { kind: 'section'; peek: boolean; parts: number[]; spec: string; fields: string[]; partial?: { start: number; length?: number }; label: string };

const SIMPLE = new Set<string>(['FLAGS', 'UID', 'RFC822.SIZE', 'INTERNALDATE', 'ENVELOPE', 'BODYSTRUCTURE', 'BODY', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT']);
const MACROS: Record<string, Simple[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

const SECTION_ITEM = /^BODY(\.PEEK)?\[([^\]]*)\](?:<(\d+)(?:\.(\d+))?>)?$/i;
const SECTION = /^((?:[1-9]\d*\.)*[1-9]\d*)?(?:^|\.|$)(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)?(?:\s+\((.*)\))?$/i;

/** The FETCH attribute argument (one item, a macro, or a parenthesised list); undefined if invalid. */
export function parseFetchItems(arg: ImapValue | undefined): FetchItem[] | undefined {
  if (!arg) return undefined;
  if (arg.type === 'atom' && MACROS[arg.value.toUpperCase()]) return MACROS[arg.value.toUpperCase()]!.map((kind) => ({ kind }));
  const values = arg.type === 'list' ? arg.items : [arg];
  const items: FetchItem[] = [];
  for (const value of values) {
    if (value.type !== 'atom') return undefined;
    const item = parseItem(value.value);
    if (!item) return undefined;
    items.push(item);
  }
  return items.length > 0 ? items : undefined;
}

function parseItem(text: string): FetchItem | undefined {
  const upper = text.toUpperCase();
  if (SIMPLE.has(upper)) return { kind: upper as Simple };
  const match = SECTION_ITEM.exec(text);
  if (!match) return undefined;
  const section = SECTION.exec(match[2]!.trim());
  if (!section) return undefined;
  const spec = (section[2] ?? '').toUpperCase();
  const fieldsText = section[3];
  if (spec.startsWith('HEADER.FIELDS') !== (fieldsText !== undefined)) return undefined;
  if (spec === 'MIME' && !section[1]) return undefined;
  const fields = fieldsText ? fieldsText.split(/\s+/).filter(Boolean).map((f) => f.replace(/^"|"$/g, '').toUpperCase()) : [];
  const parts = section[1] ? section[1].split('.').map(Number) : [];
  const sectionLabel = [section[1], spec].filter(Boolean).join('.') + (fieldsText !== undefined ? ` (${fields.join(' ')})` : '');
  const start = match[3] === undefined ? undefined : Number(match[3]);
  const length = match[4] === undefined ? undefined : Number(match[4]);
  return {
    kind: 'section',
    peek: match[1] !== undefined,
    parts,
    spec,
    fields,
    partial: start === undefined ? undefined : { start, length },
    label: `BODY[${sectionLabel}]${start === undefined ? '' : `<${start}>`}`,
  };
}

/** Whether fetching these items marks a message \Seen (RFC 3501 6.4.5). */
export const setsSeen = (items: FetchItem[]): boolean =>
  items.some((i) => (i.kind === 'section' && !i.peek) || i.kind === 'RFC822' || i.kind === 'RFC822.TEXT');

/** One untagged FETCH response as text pieces and message-byte pieces, in order. */
export function fetchResponse(seq: number, message: StoredMessage, items: FetchItem[]): Array<string | Buffer> {
  const out: Array<string | Buffer> = [];
  let text = `* ${seq} FETCH (`;
  let first = true;
  let mime: MimePart | undefined;
  const tree = (): MimePart => (mime ??= parseMime(message.raw));
  const add = (piece: string, data?: Buffer): void => {
    text += (first ? '' : ' ') + piece;
    first = false;
    if (data) {
      text += ` {${data.length}}\r\n`;
      out.push(text, data);
      text = '';
    }
  };
  for (const item of items) {
    switch (item.kind) {
      case 'FLAGS': add(`FLAGS ${flagList(message.flags)}`); break;
      case 'UID': add(`UID ${message.uid}`); break;
      case 'RFC822.SIZE': add(`RFC822.SIZE ${message.raw.length}`); break;
      case 'INTERNALDATE': add(`INTERNALDATE ${internalDate(message.internalDate)}`); break;
      case 'ENVELOPE': add(`ENVELOPE ${envelope(splitMessage(message.raw).header)}`); break;
      case 'BODYSTRUCTURE': add(`BODYSTRUCTURE ${bodyStructure(tree(), true)}`); break;
      case 'BODY': add(`BODY ${bodyStructure(tree(), false)}`); break;
      case 'RFC822': add('RFC822', message.raw); break;
      case 'RFC822.HEADER': add('RFC822.HEADER', splitMessage(message.raw).header); break;
      case 'RFC822.TEXT': add('RFC822.TEXT', splitMessage(message.raw).body); break;
      case 'section': {
        let data = sectionData(message.raw, item, tree);
        if (item.partial) {
          const end = item.partial.length === undefined ? undefined : item.partial.start + item.partial.length;
          data = data.subarray(Math.min(item.partial.start, data.length), end);
        }
        add(item.label, data);
        break;
      }
    }
  }
  out.push(`${text})\r\n`);
  return out;
}

function sectionData(raw: Buffer, item: Extract<FetchItem, { kind: 'section' }>, tree: () => MimePart): Buffer {
  const empty = raw.subarray(0, 0);
  if (item.parts.length === 0) {
    const { header, body } = splitMessage(raw);
    if (item.spec === '') return raw;
    if (item.spec === 'HEADER') return header;
    if (item.spec === 'TEXT') return body;
    return pickFields(header, item.fields, item.spec === 'HEADER.FIELDS.NOT');
  }
  const part = findPart(tree(), item.parts);
  if (!part) return empty;
  if (item.spec === '') return part.body;
  if (item.spec === 'MIME') return part.header;
  // HEADER / TEXT / HEADER.FIELDS of a part only make sense for message/rfc822 parts.
  if (!part.message) return empty;
  if (item.spec === 'HEADER') return part.message.header;
  if (item.spec === 'TEXT') return part.message.body;
  return pickFields(part.message.header, item.fields, item.spec === 'HEADER.FIELDS.NOT');
}
