// One SMTP submission connection to the sandbox's Exchange (like smtp.office365.com:587):
// STARTTLS before AUTH, XOAUTH2 only, the authenticated mailbox as the only allowed sender,
// and delivery of every accepted message, byte-exact, into the recipients' INBOX.
import type { SecureContext } from 'node:tls';
import { SERVER_NAME, smtpDate } from '../exchange/identity.js';
import { takeSession, throttledText } from '../exchange/limits.js';
import type { TokenCheckContext } from '../exchange/token-check.js';
import type { Mailbox } from '../mail-store.js';
import type { Connection } from '../net/connection.js';
import type { SandboxControls, SandboxStats } from '../types.js';
import { exchangeAuth, type Line } from './auth.js';
import { deliver, type Transaction } from './delivery.js';

export interface SmtpContext {
  tokens: TokenCheckContext;
  controls: SandboxControls;
  stats: SandboxStats;
  secureContext: SecureContext;
}

export const MAX_MESSAGE_SIZE = 157_286_400;
/** Command lines; XOAUTH2 with an initial response is about 2.5 KB, Exchange takes it. */
const MAX_LINE = 16 * 1024;
/** A data line may be long (BINARYMIME), but never longer than a whole message. */
const MAX_DATA_LINE = MAX_MESSAGE_SIZE + 2;

const EXTENSIONS = ['SIZE 157286400', 'PIPELINING', 'DSN', 'ENHANCEDSTATUSCODES', 'STARTTLS', '8BITMIME', 'BINARYMIME', 'CHUNKING', 'SMTPUTF8'];


export class SmtpSession {
  #greeted = false;
  #mailbox: Mailbox | undefined;
  #transaction: Transaction | undefined;
  /** Gives back this session's place among the mailbox's sessions. */
  #releaseSession: (() => void) | undefined;

  constructor(private readonly conn: Connection, private readonly ctx: SmtpContext) {}

  async run(): Promise<void> {
    try {
      await this.conn.send(`220 ${SERVER_NAME} Microsoft ESMTP MAIL Service ready at ${smtpDate()}\r\n`);
      for (;;) {
        const line = await this.#line();
        if (line === null) break;
        if (line === 'too-long') {
          await this.#reply('500 5.5.2 Line too long');
          continue;
        }
        const space = line.indexOf(' ');
        const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
        const rest = space < 0 ? '' : line.slice(space + 1);
        if (!(await this.#command(verb, rest))) break;
      }
    } finally {
      this.#releaseSession?.();
      if (!this.conn.ending) this.conn.destroy();
    }
  }

  async #line(max = MAX_LINE): Promise<Line> {
    const line = await this.conn.reader.line(max);
    if (line === null || line === 'too-long') return line;
    return line.toString('latin1').replace(/\r?\n$/, '');
  }

  async #reply(text: string): Promise<true> {
    await this.conn.send(`${text}\r\n`);
    return true;
  }

  /** Handles one command; false ends the session. */
  async #command(verb: string, rest: string): Promise<boolean> {
    switch (verb) {
      case 'EHLO':
      case 'HELO':
        return this.#hello(verb, rest);
      case 'STARTTLS':
        return this.#startTls();
      case 'AUTH':
        return this.#auth(rest);
      case 'MAIL':
        return this.#mail(rest);
      case 'RCPT':
        return this.#rcpt(rest);
      case 'DATA':
        return this.#data();
      case 'BDAT':
        return this.#bdat(rest);
      case 'RSET':
        this.#transaction = undefined;
        return this.#reply('250 2.0.0 Resetting');
      case 'NOOP':
        return this.#reply('250 2.0.0 OK');
      case 'VRFY':
        return this.#reply('252 2.1.5 Cannot VRFY user, but will accept message for delivery');
      case 'HELP':
        return this.#reply('214-This server supports the following commands:\r\n214 HELO EHLO STARTTLS RCPT DATA RSET MAIL QUIT HELP AUTH BDAT');
      case 'QUIT':
        this.conn.end('221 2.0.0 Service closing transmission channel\r\n');
        return false;
      default:
        return this.#reply(`500 5.3.3 Unrecognized command '${verb.replace(/[^\x21-\x7e]/g, '?').slice(0, 64)}'`);
    }
  }

  async #hello(verb: string, rest: string): Promise<boolean> {
    if (!rest.trim()) return this.#reply('501 5.5.4 Invalid domain name');
    this.#greeted = true;
    this.#transaction = undefined;
    const greeting = `${SERVER_NAME} Hello [${this.conn.remoteAddress.replace(/^::ffff:/, '')}]`;
    if (verb === 'HELO') return this.#reply(`250 ${greeting}`);
    const extensions = EXTENSIONS.flatMap((e) => (e === 'STARTTLS' ? (this.conn.secure ? [] : [e]) : [e]));
    // after STARTTLS the AUTH line takes the place STARTTLS had
    if (this.conn.secure) extensions.splice(4, 0, 'AUTH LOGIN XOAUTH2');
    const lines = [greeting, ...extensions];
    return this.#reply(lines.map((l, i) => `250${i === lines.length - 1 ? ' ' : '-'}${l}`).join('\r\n'));
  }

  async #startTls(): Promise<boolean> {
    if (this.conn.secure) return this.#reply('503 5.5.1 Bad sequence of commands');
    await this.#reply('220 2.0.0 SMTP server ready');
    await this.conn.startTls(this.ctx.secureContext);
    // RFC 3207: the session starts over
    this.#greeted = false;
    this.#transaction = undefined;
    return true;
  }

  async #auth(rest: string): Promise<boolean> {
    if (!this.#greeted) return this.#reply('503 5.5.2 Send hello first');
    if (!this.conn.secure) return this.#reply('504 5.7.4 Unrecognized authentication type');
    if (this.#mailbox) return this.#reply('503 5.5.2 Already authenticated');
    if (this.#transaction) return this.#reply('503 5.5.2 Mail transaction in progress');
    const [mechanism = '', initial, ...extra] = rest.split(' ');
    const upper = mechanism.toUpperCase();
    if ((upper !== 'XOAUTH2' && upper !== 'LOGIN') || extra.length > 0) return this.#reply('504 5.7.4 Unrecognized authentication type');

    const verdict = await exchangeAuth({ reply: (text) => this.#reply(text), line: () => this.#line() }, this.ctx, upper, initial);
    if (typeof verdict === 'boolean') return verdict;
    if (throttledText(verdict)) return this.#reply(this.#busy());
    this.#releaseSession = takeSession(verdict, 'smtp', this.ctx.controls.sessionLimitPerMailbox);
    if (!this.#releaseSession) return this.#reply(`432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information. [Hostname=${SERVER_NAME}]`);
    this.ctx.stats.smtpLogins++;
    this.#mailbox = verdict;
    return this.#reply('235 2.7.0 Authentication successful');
  }

  /** Exchange names no time here, and says it like its front door does to a busy sender. */
  #busy(): string {
    return `451 4.7.500 Server busy. Please try again later from [${this.conn.remoteAddress.replace(/^::ffff:/, '')}]. (S77719)`;
  }

  async #mail(rest: string): Promise<boolean> {
    if (!this.#greeted) return this.#reply('503 5.5.2 Send hello first');
    if (!this.#mailbox) return this.#reply(`530 5.7.57 Client not authenticated to send mail. [${SERVER_NAME}]`);
    if (this.#transaction) return this.#reply('503 5.5.2 Sender already specified');
    if (throttledText(this.#mailbox)) return this.#reply(this.#busy());
    const match = /^FROM:\s*<([^<>]*)>((?:\s+\S+)*)\s*$/i.exec(rest) ?? /^FROM:\s*([^\s<>]+)((?:\s+\S+)*)\s*$/i.exec(rest);
    if (!match) return this.#reply('501 5.5.4 Invalid arguments');
    const size = /\bSIZE=(\d+)/i.exec(match[2] ?? '');
    if (size && Number(size[1]) > MAX_MESSAGE_SIZE) return this.#reply('552 5.3.4 Message size exceeds fixed maximum message size');
    this.#transaction = { from: match[1]!, deliverTo: [], accepted: 0, chunks: [], size: 0 };
    return this.#reply('250 2.1.0 Sender OK');
  }

  async #rcpt(rest: string): Promise<boolean> {
    const transaction = this.#transaction;
    if (!transaction) return this.#reply('503 5.5.2 Need mail command');
    const match = /^TO:\s*<([^<>]+)>((?:\s+\S+)*)\s*$/i.exec(rest) ?? /^TO:\s*([^\s<>]+)((?:\s+\S+)*)\s*$/i.exec(rest);
    if (!match) return this.#reply('501 5.5.4 Invalid arguments');
    const address = match[1]!;
    const mailbox = this.ctx.tokens.store.get(address);
    if (!mailbox && this.ctx.tokens.store.isLocalDomain(address)) {
      return this.#reply('550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup');
    }
    if (mailbox && !transaction.deliverTo.includes(mailbox)) transaction.deliverTo.push(mailbox);
    transaction.accepted++;
    return this.#reply('250 2.1.5 Recipient OK');
  }

  /** Checks shared by DATA and BDAT; a reply when the transaction cannot take data. */
  #refuseData(): string | undefined {
    if (!this.#transaction) return '503 5.5.2 Need mail command';
    if (this.#transaction.accepted === 0) return '503 5.5.2 Need rcpt command';
    return undefined;
  }

  async #data(): Promise<boolean> {
    const refusal = this.#refuseData();
    if (refusal) return this.#reply(refusal);
    if (this.#transaction!.chunks.length > 0) return this.#reply('503 5.5.1 Bad sequence of commands');
    await this.#reply('354 Start sending mail data.');
    const reader = this.conn.reader;
    const lines: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    for (;;) {
      // Lines are views of the received chunks; they are joined once at the end.
      let line = reader.tryLine(MAX_DATA_LINE);
      if (line === undefined) line = (await reader.line(MAX_DATA_LINE)) ?? undefined;
      if (line === undefined) return false;
      if (line === 'too-long') {
        tooBig = true;
        continue;
      }
      if (line[0] === 0x2e) {
        if (line.length === 3 && line[1] === 0x0d && line[2] === 0x0a) break;
        if (line.length === 2 && line[1] === 0x0a) break;
        line = line.subarray(1); // dot-unstuffing
      }
      size += line.length;
      if (size > MAX_MESSAGE_SIZE) tooBig = true;
      if (!tooBig) lines.push(line);
    }
    return this.#finish(tooBig ? undefined : Buffer.concat(lines, size));
  }

  async #bdat(rest: string): Promise<boolean> {
    const match = /^(\d{1,10})(\s+LAST)?\s*$/i.exec(rest);
    if (!match) return this.#reply('501 5.5.4 Invalid arguments');
    const count = Number(match[1]);
    // the chunk follows the command whatever the answer will be, so it is read first
    const refusal = this.#refuseData();
    const transaction = this.#transaction;
    const keep = !refusal && transaction !== undefined && transaction.size + count <= MAX_MESSAGE_SIZE;
    let remaining = count;
    while (remaining > 0) {
      const piece = Math.min(remaining, 1024 * 1024);
      const data = await this.conn.reader.bytes(piece);
      if (data === null) return false;
      if (keep) transaction.chunks.push(data);
      remaining -= piece;
    }
    if (refusal) return this.#reply(refusal);
    if (!keep) {
      this.#transaction = undefined;
      return this.#reply('552 5.3.4 Message size exceeds fixed maximum message size');
    }
    transaction.size += count;
    if (!match[2]) return this.#reply(`250 2.0.0 ${count} bytes received`);
    return this.#finish(Buffer.concat(transaction.chunks, transaction.size));
  }

  /** Ends the transaction: refuse, or deliver to every local recipient; then answers (late, if told to). */
  async #finish(message: Buffer | undefined): Promise<true> {
    const transaction = this.#transaction!;
    this.#transaction = undefined;
    const verdict = deliver(transaction, this.#mailbox!, message);
    const delay = this.ctx.controls.smtpDataReplyDelayMs;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    return this.#reply(verdict);
  }

}
