import { hostname } from 'node:os';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { HostPort, UpstreamConfig } from '../config/types.js';
import type { Secret } from '../config/secret.js';
import { DotStuffer } from '../wire/dot-stuffing.js';
import { SmtpReplyAssembler, ehloKeywords, formatReply, type SmtpReply } from '../wire/smtp-reply.js';
import { describeRefusal, Xoauth2Client, type Xoauth2Refusal } from './xoauth2.js';
import { describe, type UpstreamConnector } from './connector.js';
import { UpstreamError } from '../outbound/errors.js';
import { SocketLineReader } from './line-reader.js';
import { queueFull } from './write-queue.js';

/** RFC 5321 section 4.5.3.2 asks clients to wait up to 10 minutes for the end of DATA. */
export const COMMAND_TIMEOUT_MS = 10 * 60_000;

/**
 * A small SMTP client for the upstream submission server, one command at a time, so the
 * local client gets Exchange's verdict for each step (nodemailer's SMTPConnection pipelines
 * MAIL/RCPT/DATA and reports refused recipients only at the end).
 *
 *   S: 220 ...            C: EHLO  S: 250-...STARTTLS    C: STARTTLS  S: 220 → TLS handshake
 *   C: EHLO  S: 250-AUTH LOGIN XOAUTH2                   C: AUTH XOAUTH2  S: 334
 *   C: <base64>  S: 235 2.7.0 ...     | S: 535 ...       | S: 334 <base64 JSON>  C: (empty)  S: 535 ...
 *
 * The token goes on a continuation line: Entra tokens make a 1.5-2.5 KB line, and some
 * servers cap command lines at 1,024 bytes.
 */
export class SmtpUpstream {
  #socket: Socket;
  #reader: SocketLineReader;
  readonly #label: string;
  /** Sees each reply read after the login (the relay's steps), e.g. to notice throttling. */
  onReply: ((reply: SmtpReply) => void) | undefined;
  #awaitingVerdict = false;

  private constructor(socket: Socket, label: string) {
    this.#socket = socket;
    this.#label = label;
    this.#reader = new SocketLineReader(socket, label);
  }

  static async open(connector: UpstreamConnector, upstream: UpstreamConfig, mailbox: string, token: Secret): Promise<SmtpUpstream> {
    const target = upstream.smtp;
    const client = new SmtpUpstream(await connector.connectPlain(target), `SMTP server ${describe(target)}`);
    const deadline = Date.now() + upstream.loginTimeoutMs;
    try {
      await client.#startTls(connector, target, deadline);
      await client.#authenticate(new Xoauth2Client(mailbox, token), deadline);
      return client;
    } catch (error) {
      client.close();
      throw error;
    }
  }

  /** Greeting, EHLO, STARTTLS, EHLO again: the token never crosses in clear text. */
  async #startTls(connector: UpstreamConnector, target: HostPort, deadline: number): Promise<void> {
    this.#expect(await this.#readReply(deadline), 220, 'greeting');
    const helo = `EHLO ${hostname() || 'localhost'}\r\n`;
    this.#socket.write(helo);
    const before = this.#expect(await this.#readReply(deadline), 250, 'EHLO');
    if (!ehloKeywords(before).has('STARTTLS')) {
      throw new UpstreamError('protocol', `${this.#label} does not offer STARTTLS; the token will not be sent in clear text`);
    }
    this.#socket.write('STARTTLS\r\n');
    this.#expect(await this.#readReply(deadline), 220, 'STARTTLS');
    // Anything the server sent after its 220 arrived in clear text: drop it (injection).
    this.#reader.release();
    this.#socket = await connector.startTls(this.#socket, target);
    this.#reader = new SocketLineReader(this.#socket, this.#label);
    this.#socket.write(helo);
    this.#expect(await this.#readReply(deadline), 250, 'EHLO after STARTTLS');
  }

  async #authenticate(sasl: Xoauth2Client, deadline: number): Promise<void> {
    this.#socket.write('AUTH XOAUTH2\r\n');
    let reply = await this.#readReply(deadline);
    if (reply.code !== 334) throw new UpstreamError(reply.code >= 500 ? 'rejected' : 'protocol', `${this.#label} refused AUTH XOAUTH2`, formatReply(reply));
    this.#socket.write(`${sasl.start()}\r\n`);
    reply = await this.#readReply(deadline);
    let refusal: Xoauth2Refusal | undefined;
    if (reply.code === 334) {
      const step = sasl.next(reply.lines[0] ?? '');
      refusal = step.refusal;
      this.#socket.write(`${step.response}\r\n`);
      reply = await this.#readReply(deadline);
    }
    if (reply.code !== 235) {
      // 454/421 mean "try later"; anything else refuses this token for this mailbox, 4xx
      // included (Exchange answers a missing mailbox permission with 430 4.2.0 STOREDRV).
      const kind = reply.code === 454 || reply.code === 421 ? 'unreachable' : 'rejected';
      throw new UpstreamError(kind, `${this.#label} refused the token${describeRefusal(refusal)}`, formatReply(reply));
    }
  }

  /** The connection to the server (TLS once open() resolved); its close ends the session. */
  get socket(): Socket {
    return this.#socket;
  }

  get closed(): boolean {
    return this.#reader.closed || this.#socket.destroyed;
  }

  /**
   * The end of a message went to the server and its verdict has not come back: cutting the
   * session now could leave a delivered message that the client was never told about.
   */
  get awaitingVerdict(): boolean {
    return this.#awaitingVerdict;
  }

  /** Sends one command line and returns the server's reply. */
  async command(line: string): Promise<SmtpReply> {
    this.#socket.write(`${line}\r\n`);
    return this.#readReply(Date.now() + COMMAND_TIMEOUT_MS);
  }

  /**
   * DATA: returns the 354-or-error reply to DATA; when it is 354, streams the message
   * (dot-stuffed, with backpressure) and returns the final reply. A message stream that
   * fails, or a close() before its end, means the terminator is never sent: the server
   * drops the partial message.
   */
  async data(message: Readable): Promise<SmtpReply> {
    const ready = await this.command('DATA');
    if (ready.code !== 354) return ready;
    const stuffer = new DotStuffer();
    for await (const chunk of message) {
      await this.#write(stuffer.push(chunk as Buffer));
    }
    // Set in the same turn as the write: close() runs in another one, before or after.
    const sent = this.#write(stuffer.end());
    this.#awaitingVerdict = !this.closed;
    try {
      await sent;
      return await this.#readReply(Date.now() + COMMAND_TIMEOUT_MS);
    } finally {
      this.#awaitingVerdict = false;
    }
  }

  /** Polite goodbye; does not wait long for the answer. */
  async quit(): Promise<void> {
    if (this.closed) return;
    try {
      this.#socket.write('QUIT\r\n');
      await this.#readReply(Date.now() + 2000);
    } catch {
      // The server may just close: that is a goodbye too.
    } finally {
      this.close();
    }
  }

  close(): void {
    this.#reader.release();
    this.#socket.destroy();
  }

  #write(chunk: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new UpstreamError('closed', `${this.#label} closed the connection`));
    this.#socket.write(chunk);
    if (!queueFull(this.#socket)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onDrain = () => { this.#socket.off('close', onClose); resolve(); };
      const onClose = () => { this.#socket.off('drain', onDrain); reject(new UpstreamError('closed', `${this.#label} closed the connection`)); };
      this.#socket.once('drain', onDrain);
      this.#socket.once('close', onClose);
    });
  }

  async #readReply(deadline: number): Promise<SmtpReply> {
    const assembler = new SmtpReplyAssembler();
    for (;;) {
      const line = await this.#reader.readLine(deadline);
      let reply: SmtpReply | undefined;
      try {
        reply = assembler.push(line);
      } catch {
        throw new UpstreamError('protocol', `${this.#label} sent a malformed reply`);
      }
      if (reply) {
        this.onReply?.(reply);
        return reply;
      }
    }
  }

  #expect(reply: SmtpReply, code: number, step: string): SmtpReply {
    if (reply.code !== code) {
      throw new UpstreamError(reply.code >= 400 && reply.code < 500 ? 'unreachable' : 'protocol', `${this.#label} answered ${reply.code} to ${step}`, formatReply(reply));
    }
    return reply;
  }
}
