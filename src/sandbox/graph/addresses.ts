// Address lists of RFC 5322 header fields (To, Cc, Bcc, From), as far as Graph's recipient
// resolution needs them: `Name <addr>`, `"Quoted, Name" <addr>`, bare `addr`, comments, groups
// (`Team: a@x, b@y;`) and RFC 2047 encoded names. Works on latin1 text so that 8-bit bytes
// pass through unchanged; names are decoded as UTF-8 for display.
import type { GraphRecipient } from '../types.js';

/** Splits on commas that are outside quotes, angle brackets and comments. */
function splitTopLevel(value: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let angle = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\') i++;
    else if (quoted) quoted = c !== '"';
    else if (c === '"') quoted = true;
    else if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0 && c === '<') angle = true;
    else if (depth === 0 && c === '>') angle = false;
    else if (depth === 0 && !angle && (c === ',' || c === ';')) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts;
}

const withoutComments = (text: string): string => text.replace(/\((?:[^()\\]|\\.)*\)/g, ' ');

/** RFC 2047 encoded words to text; other bytes (latin1 here) are read as UTF-8. */
export function decodeWords(text: string): string {
  const joined = text.replace(/\?=\s+=\?/g, '?==?');
  const decoded = joined.replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_all, _charset: string, encoding: string, data: string) => {
    const bytes = encoding.toUpperCase() === 'B'
      ? Buffer.from(data, 'base64')
      : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
    return bytes.toString('latin1');
  });
  return Buffer.from(decoded, 'latin1').toString('utf8');
}

function parseOne(part: string): GraphRecipient | undefined {
  // A group's display name ("Team:") is not a recipient.
  const text = part.replace(/^[^<>"@,]*:/, '').trim();
  if (!text) return undefined;
  const angled = /^(.*)<([^<>]*)>\s*$/s.exec(text);
  const address = withoutComments(angled ? angled[2]! : text).trim();
  if (!/^[^\s@]+@[^\s@]+$/.test(address)) return undefined;
  let name = angled ? withoutComments(angled[1]!).trim() : '';
  if (name.startsWith('"') && name.endsWith('"') && name.length >= 2) name = name.slice(1, -1).replace(/\\(.)/g, '$1');
  name = decodeWords(name).trim();
  return { address, name: name || address };
}

export function parseAddressList(value: string): GraphRecipient[] {
  return splitTopLevel(value.replace(/\r?\n[ \t]/g, ' ')).map(parseOne).filter((r): r is GraphRecipient => r !== undefined);
}

/** `Name <addr>` for a header, the name RFC 2047-encoded when it is not plain ASCII. */
export function renderAddress(recipient: GraphRecipient): string {
  const { name, address } = recipient;
  if (!name || name === address) return address;
  // eslint-disable-next-line no-control-regex
  const ascii = /^[\x20-\x7e]*$/.test(name);
  const shown = ascii ? `"${name.replace(/(["\\])/g, '\\$1')}"` : `=?UTF-8?B?${Buffer.from(name, 'utf8').toString('base64')}?=`;
  return `${shown} <${address}>`;
}
