/**
 * SMTP replies (RFC 5321 section 4.2): one or more lines `code-text`, the last `code SP text`.
 * Pure: fed one line at a time.
 */
export interface SmtpReply {
  code: number;
  /** Text of each line without the code, e.g. ["5.7.1 Client was not authenticated"]. */
  lines: string[];
}

export class SmtpReplyAssembler {
  #code: number | undefined;
  #lines: string[] = [];

  /** Adds a line; returns the whole reply when this was its last line. Throws on a malformed line. */
  push(line: string): SmtpReply | undefined {
    const match = /^([2-5]\d\d)([ -]|$)(.*)$/.exec(line);
    if (!match) throw new Error('malformed SMTP reply line');
    const code = Number(match[1]);
    if (this.#code !== undefined && this.#code !== code) throw new Error('SMTP reply lines disagree on the code');
    this.#code = code;
    this.#lines.push(match[3] ?? '');
    if (match[2] === '-') return undefined;
    const reply = { code, lines: this.#lines };
    this.#code = undefined;
    this.#lines = [];
    return reply;
  }
}

export function formatReply(reply: SmtpReply): string {
  return reply.lines.map((text, i) => `${reply.code}${i === reply.lines.length - 1 ? ' ' : '-'}${text}`).join('\r\n');
}

/** EHLO keywords from a reply (first line is the greeting): "AUTH LOGIN XOAUTH2" → AUTH. */
export function ehloKeywords(reply: SmtpReply): Map<string, string> {
  return new Map(reply.lines.slice(1).map((line) => {
    const [keyword = '', ...rest] = line.trim().split(/\s+/);
    return [keyword.toUpperCase(), rest.join(' ')];
  }));
}
