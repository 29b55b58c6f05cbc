// How values are written in IMAP responses. All strings are latin1 (one char = one byte).

/** A quoted string when it can be one, else a literal (8-bit data, CR/LF, very long values). */
export function imapString(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value) && value.length < 1024) return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return `{${value.length}}\r\n${value}`;
}

export const nstring = (value: string | undefined): string => (value === undefined ? 'NIL' : imapString(value));

/** Mailbox names go out as atoms when they can ("INBOX", "Archive"), else quoted ("Sent Items"). */
export function mailboxName(name: string): string {
  return /^[\x21-\x7e]+$/.test(name) && !/[(){%*"\\\]]/.test(name) ? name : imapString(name);
}

export const flagList = (flags: Iterable<string>): string => `(${[...flags].join(' ')})`;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** INTERNALDATE: "17-Jul-1996 02:44:25 +0000" (UTC). */
export function internalDate(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `"${pad(date.getUTCDate())}-${MONTHS[date.getUTCMonth()]}-${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000"`;
}

/** Parses an IMAP date ("1-Feb-1994") or date-time ("17-Jul-1996 02:44:25 -0700"). */
export function parseImapDate(text: string): Date | undefined {
  const match = /^\s*(\d{1,2})-([A-Za-z]{3})-(\d{4})(?: (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}))?\s*$/.exec(text);
  if (!match) return undefined;
  const month = MONTHS.findIndex((m) => m.toLowerCase() === match[2]!.toLowerCase());
  if (month < 0) return undefined;
  const utc = Date.UTC(Number(match[3]), month, Number(match[1]), Number(match[4] ?? 0), Number(match[5] ?? 0), Number(match[6] ?? 0));
  const offset = match[7] ? (match[7] === '-' ? -1 : 1) * (Number(match[8]) * 60 + Number(match[9])) : 0;
  const date = new Date(utc - offset * 60_000);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
