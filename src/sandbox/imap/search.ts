// SEARCH criteria (RFC 3501 6.4.4), parsed into a predicate over one message. Text matches
// are case-insensitive substring matches on the raw header or body bytes.
import type { StoredMessage } from '../mail-store.js';
import { parseImapDate } from './format.js';
import { splitMessage } from '../rfc5322.js';
import { headerFields, headerValue } from './mime.js';
import type { ImapValue } from './parser.js';
import { inSequenceSet, parseSequenceSet } from './sequence.js';

export interface SearchTarget {
  message: StoredMessage;
  seq: number;
  /** Largest sequence number and UID in the selected mailbox, for "*". */
  maxSeq: number;
  maxUid: number;
}

export type Predicate = (target: SearchTarget) => boolean;

export class SearchSyntaxError extends Error {}

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true], UNANSWERED: ['\\Answered', false],
  DELETED: ['\\Deleted', true], UNDELETED: ['\\Deleted', false],
  DRAFT: ['\\Draft', true], UNDRAFT: ['\\Draft', false],
  FLAGGED: ['\\Flagged', true], UNFLAGGED: ['\\Flagged', false],
  SEEN: ['\\Seen', true], UNSEEN: ['\\Seen', false],
};
const HEADER_KEYS = new Set(['FROM', 'TO', 'CC', 'BCC', 'SUBJECT']);

export function parseSearch(args: ImapValue[]): Predicate {
  const queue = [...args];
  // CHARSET is accepted and ignored: matching is on bytes anyway.
  if (queue[0]?.type === 'atom' && queue[0].value.toUpperCase() === 'CHARSET') queue.splice(0, 2);
  const all: Predicate[] = [];
  while (queue.length > 0) all.push(parseKey(queue));
  if (all.length === 0) throw new SearchSyntaxError('no search criteria');
  return (t) => all.every((p) => p(t));
}

function parseKey(queue: ImapValue[]): Predicate {
  const value = queue.shift();
  if (!value) throw new SearchSyntaxError('missing search key');
  if (value.type === 'list') {
    const inner = [...value.items];
    const keys: Predicate[] = [];
    while (inner.length > 0) keys.push(parseKey(inner));
    return (t) => keys.every((p) => p(t));
  }
  if (value.type !== 'atom') throw new SearchSyntaxError('search key expected');
  const key = value.value.toUpperCase();
  const text = (): string => {
    const v = queue.shift();
    if (v?.type !== 'atom' && v?.type !== 'string') throw new SearchSyntaxError(`${key} needs a string`);
    return v.value.toLowerCase();
  };
  const date = (): Date => {
    const v = queue.shift();
    const parsed = v?.type === 'atom' || v?.type === 'string' ? parseImapDate(v.value) : undefined;
    if (!parsed) throw new SearchSyntaxError(`${key} needs a date`);
    return parsed;
  };
  const number = (): number => {
    const v = queue.shift();
    if (v?.type !== 'atom' || !/^\d+$/.test(v.value)) throw new SearchSyntaxError(`${key} needs a number`);
    return Number(v.value);
  };
  const flag = FLAG_KEYS[key];
  if (flag) return ({ message }) => message.flags.has(flag[0]) === flag[1];
  if (HEADER_KEYS.has(key)) {
    const needle = text();
    return ({ message }) => (header(message, key) ?? '').toLowerCase().includes(needle);
  }
  switch (key) {
    case 'ALL': return () => true;
    case 'NEW': return ({ message }) => !message.flags.has('\\Seen');
    case 'OLD': return () => true;
    case 'RECENT': return () => false;
    case 'KEYWORD': { const k = text(); return ({ message }) => [...message.flags].some((f) => f.toLowerCase() === k); }
    case 'UNKEYWORD': { const k = text(); return ({ message }) => ![...message.flags].some((f) => f.toLowerCase() === k); }
    case 'HEADER': {
      const name = text();
      const needle = text();
      return ({ message }) => {
        const v = header(message, name);
        return v !== undefined && v.toLowerCase().includes(needle);
      };
    }
    case 'BODY': { const needle = text(); return ({ message }) => splitMessage(message.raw).body.toString('latin1').toLowerCase().includes(needle); }
    case 'TEXT': { const needle = text(); return ({ message }) => message.raw.toString('latin1').toLowerCase().includes(needle); }
    case 'LARGER': { const n = number(); return ({ message }) => message.raw.length > n; }
    case 'SMALLER': { const n = number(); return ({ message }) => message.raw.length < n; }
    case 'BEFORE': { const d = day(date()); return ({ message }) => day(message.internalDate) < d; }
    case 'ON': { const d = day(date()); return ({ message }) => day(message.internalDate) === d; }
    case 'SINCE': { const d = day(date()); return ({ message }) => day(message.internalDate) >= d; }
    case 'SENTBEFORE': { const d = day(date()); return ({ message }) => sentDay(message) < d; }
    case 'SENTON': { const d = day(date()); return ({ message }) => sentDay(message) === d; }
    case 'SENTSINCE': { const d = day(date()); return ({ message }) => sentDay(message) >= d; }
    case 'NOT': { const p = parseKey(queue); return (t) => !p(t); }
    case 'OR': { const a = parseKey(queue); const b = parseKey(queue); return (t) => a(t) || b(t); }
    case 'UID': {
      const v = queue.shift();
      const set = v?.type === 'atom' ? parseSequenceSet(v.value) : undefined;
      if (!set) throw new SearchSyntaxError('UID needs a set');
      return ({ message, maxUid }) => inSequenceSet(set, message.uid, maxUid);
    }
    default: {
      const set = parseSequenceSet(value.value);
      if (!set) throw new SearchSyntaxError(`unknown search key ${key}`);
      return ({ seq, maxSeq }) => inSequenceSet(set, seq, maxSeq);
    }
  }
}

function header(message: StoredMessage, name: string): string | undefined {
  return headerValue(headerFields(splitMessage(message.raw).header), name);
}

/** Days since the epoch (UTC): SEARCH dates ignore the time of day. */
const day = (date: Date): number => Math.floor(date.getTime() / 86_400_000);

function sentDay(message: StoredMessage): number {
  const value = header(message, 'date');
  const parsed = value ? new Date(value) : undefined;
  return parsed && !Number.isNaN(parsed.getTime()) ? day(parsed) : day(message.internalDate);
}
