import type { Protocol } from '../generate/script.js';

/**
 * Is what the proxy said valid for its protocol? Pure checks over the lines of one connection.
 * A phase is the stretch of a connection before or after STARTTLS: answers inside TLS must
 * be to commands sent inside TLS (CVE-2011-0411), and only the first phase has a greeting.
 */
export interface Phase {
  tls: boolean;
  sent: Buffer;
  received: Buffer;
}

export interface ReplyCheck {
  phases: Phase[];
  /** The client read until the proxy closed: a trailing partial line is then the proxy's fault. */
  readToClose: boolean;
}

const PRINTABLE = /^[\x20-\x7e]*$/;

/** Lines the client waits for in lockstep: each ends one answer. */
export function isAnswerEnd(protocol: Protocol, line: string): boolean {
  // An untagged BAD (or NO) answers a command whose tag could not be read.
  if (protocol === 'imap') return /^(\+|\* (BYE|BAD|NO)|[^*+ ]+ (OK|NO|BAD))( |$)/.test(line);
  if (protocol === 'pop3') return /^(\+OK|-ERR|\+ )/.test(line);
  return /^\d{3}( |$)/.test(line);
}

/**
 * How many answers the client's bytes are owed, where the protocol says: POP3 answers every
 * CRLF-ended line with one status or challenge line; SMTP (smtp-server) every LF-ended line
 * with one reply. IMAP's literals and continuations make no such count: undefined.
 */
export function answersOwed(protocol: Protocol, sent: Buffer): number | undefined {
  if (protocol === 'imap') return undefined;
  const end = protocol === 'pop3' ? '\r\n' : '\n';
  let count = 0;
  for (let at = sent.indexOf(end); at !== -1; at = sent.indexOf(end, at + end.length)) count++;
  return count;
}

/** This proxy's answer to a successful login, per protocol. */
const LOGGED_IN: Record<Protocol, RegExp> = {
  imap: /^\S+ OK \[CAPABILITY [^\]]*\] (LOGIN|AUTHENTICATE) completed/,
  pop3: /^\+OK Logged in/,
  smtp: /^235[ -]/,
};

/** Whether the proxy said a login succeeded: only the right credentials may get there. */
export function loggedIn(protocol: Protocol, phases: Phase[]): string | undefined {
  for (const phase of phases) {
    const line = splitLines(phase.received).lines.find((l) => LOGGED_IN[protocol].test(l));
    if (line) return line;
  }
  return undefined;
}

/** The first problem with what the proxy sent, or undefined. */
export function checkReplies(protocol: Protocol, check: ReplyCheck): string | undefined {
  const check1 = protocol === 'imap' ? imapPhase : protocol === 'pop3' ? pop3Phase : smtpPhase;
  for (const [i, phase] of check.phases.entries()) {
    const { lines, partial } = splitLines(phase.received);
    const last = i === check.phases.length - 1;
    if (last && check.readToClose && partial.length > 0) return `incomplete line when the proxy closed: ${quote(partial.toString('latin1'))}`;
    for (const line of lines) if (!PRINTABLE.test(line)) return `line with a byte that is not printable ASCII: ${quote(line)}`;
    const problem = check1(lines, { ...phase, tls: i > 0 }, i === 0);
    if (problem) return `${phase.tls && i > 0 ? 'after STARTTLS: ' : ''}${problem}`;
  }
  return undefined;
}

export function splitLines(received: Buffer): { lines: string[]; partial: Buffer } {
  const text = received.toString('latin1');
  const end = text.lastIndexOf('\r\n');
  if (end === -1) return { lines: [], partial: received };
  return { lines: text.slice(0, end).split('\r\n'), partial: received.subarray(end + 2) };
}

function imapPhase(lines: string[], phase: Phase, first: boolean): string | undefined {
  if (first && lines.length > 0 && !/^\* (OK|BYE|PREAUTH)( |$)/.test(lines[0]!)) return `greeting is not * OK/BYE: ${quote(lines[0]!)}`;
  let tags: Set<string> | undefined;
  let bye = false;
  for (const line of lines) {
    const tagged = /^([^ *+]+) (OK|NO|BAD)( .*)?$/.exec(line);
    if (bye && !(tagged && tagged[2] === 'OK')) return `answer after * BYE: ${quote(line)}`;
    if (tagged) {
      if (!/^[\x21-\x7e]+$/.test(tagged[1]!) || /[(){%*"\\+]/.test(tagged[1]!)) return `tagged answer with an invalid tag: ${quote(line)}`;
      tags ??= sentTags(phase.sent);
      if (!tags.has(tagged[1]!)) return `answer to a tag the client never sent${phase.tls ? ' inside TLS' : ''}: ${quote(line)}`;
      continue;
    }
    if (/^\* BYE( |$)/.test(line)) bye = true;
    else if (!IMAP_UNTAGGED.test(line) && !/^\+( |$)/.test(line)) return `not an IMAP response line: ${quote(line)}`;
  }
  return undefined;
}

const IMAP_UNTAGGED = /^\* ((OK|NO|BAD|PREAUTH|CAPABILITY|ID|ENABLED|FLAGS|LIST|LSUB|STATUS|SEARCH|NAMESPACE)( .*)?|\d+ (EXISTS|RECENT|EXPUNGE|FETCH)( .*)?)$/;

/**
 * First word of every line the client sent (RFC 3501: the tag is everything before the first
 * space): only these may come back as tags. Lines inside literals count too, so this is lenient.
 */
function sentTags(sent: Buffer): Set<string> {
  return new Set(sent.toString('latin1').split('\r\n').map((line) => line.split(' ', 1)[0]!));
}

function pop3Phase(lines: string[], phase: Phase, first: boolean): string | undefined {
  if (first && lines.length > 0 && !/^(\+OK|-ERR)( |$)/.test(lines[0]!)) return `greeting is not +OK/-ERR: ${quote(lines[0]!)}`;
  let body: 'no' | 'may-start' | 'open' = 'no';
  let answers = 0;
  // The greeting opens no multi-line answer.
  for (const line of first ? lines.slice(1) : lines) {
    const status = /^(\+OK|-ERR)( |$)/.test(line) || /^\+ [A-Za-z0-9+/]*={0,2}$/.test(line);
    if (status) {
      if (body === 'open') return `status line inside a multi-line answer: ${quote(line)}`;
      body = line.startsWith('+OK') ? 'may-start' : 'no';
      if (!/too many/i.test(line)) answers++;
    } else if (line === '.') {
      if (body !== 'open' && body !== 'may-start') return 'a lone "." outside a multi-line answer';
      body = 'no';
    } else {
      if (body === 'no') return `not a POP3 response line: ${quote(line)}`;
      if (line.startsWith('.') && !line.startsWith('..')) return `multi-line answer line not dot-stuffed: ${quote(line)}`;
      body = 'open';
    }
  }
  if (!first) return tooManyAnswers('pop3', answers, phase);
  return undefined;
}

function smtpPhase(lines: string[], phase: Phase, first: boolean): string | undefined {
  let open: string | undefined; // code of an unfinished multi-line reply
  let answers = 0;
  let closing: string | undefined;
  for (const [i, line] of lines.entries()) {
    const match = /^([2-5][0-5]\d)([ -]|$)/.exec(line);
    if (!match) return `not an SMTP reply line: ${quote(line)}`;
    if (closing) return `reply after ${closing}: ${quote(line)}`;
    if (open && match[1] !== open) return `multi-line reply changes its code: ${quote(line)}`;
    if (first && i === 0 && !/^(220|421|554)/.test(line)) return `greeting is not 220/421/554: ${quote(line)}`;
    open = match[2] === '-' ? match[1] : undefined;
    if (!open) {
      answers++;
      if (/^(221|421)/.test(line)) closing = match[1];
    }
  }
  if (!first) return tooManyAnswers('smtp', answers, phase);
  return undefined;
}

/** Inside TLS, more answers than command lines means bytes from before TLS were answered. */
function tooManyAnswers(protocol: Protocol, answers: number, phase: Phase): string | undefined {
  const commands = answersOwed(protocol, phase.sent)!;
  return answers > commands ? `${answers} answers inside TLS to ${commands} lines sent inside TLS: a command sent before STARTTLS was answered after it` : undefined;
}

function quote(text: string): string {
  const shown = JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
  return shown;
}
