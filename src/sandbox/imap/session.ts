// One IMAP connection to the sandbox's Exchange: reads commands (with literals), enforces
// the IMAP states, logs in with XOAUTH2 only, and ends the session when the token expires.
import { serverId } from '../exchange/identity.js';
import { takeSession, throttledText } from '../exchange/limits.js';
import { checkXoauth2, errorChallenge, type TokenCheckContext } from '../exchange/token-check.js';
import type { Mailbox } from '../mail-store.js';
import type { Connection } from '../net/connection.js';
import type { SandboxControls, SandboxStats } from '../types.js';
import { ARGUMENT_ERROR, type Handler, type SessionState } from './context.js';
import { mailboxCommands } from './mailbox-commands.js';
import { messageCommands, selectedCommands } from './message-commands.js';
import { astring, ImapSyntaxError, parseCommand, tagOf, type ImapCommand } from './parser.js';
import type { SelectedFolder } from './selected.js';

export interface ImapContext {
  tokens: TokenCheckContext;
  controls: SandboxControls;
  stats: SandboxStats;
}

const CAPABILITY_BEFORE_LOGIN = 'IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+';
const CAPABILITY_AFTER_LOGIN = 'IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CLIENTACCESSRULES CLIENTNETWORKPRESENCELOCATION BACKENDAUTHENTICATE CHILDREN IDLE NAMESPACE LITERAL+';

/** Longest command line (an XOAUTH2 SASL-IR line is about 2.5 KB). */
const MAX_LINE = 64 * 1024;
/** Largest literal: APPEND may carry a whole message, other commands only short strings. */
const MAX_APPEND_LITERAL = 157_286_400;
const MAX_LITERAL = 64 * 1024;
const LITERAL = /\{(\d{1,12})(\+?)\}$/;

const COMMAND_ERROR = 'BAD Command Error. 10';
const STATE_ERROR = 'BAD Command received in Invalid state.';

type ReadResult = { command: ImapCommand } | { error: string; tag: string | undefined } | null;

export class ImapSession implements SessionState {
  #state: 'not-authenticated' | 'authenticated' | 'selected' = 'not-authenticated';
  #mailbox: Mailbox | undefined;
  #selected: SelectedFolder | undefined;
  /** Logged in with a valid token but without FullAccess: Exchange's half-open session. */
  #notConnected = false;
  /** A command is being answered; an expiry BYE must wait so it cannot split a response. */
  #busy = false;
  #expired = false;
  #finished = false;
  #expiryTimer: NodeJS.Timeout | undefined;
  /** Gives back this session's place among the mailbox's sessions. */
  #releaseSession: (() => void) | undefined;

  constructor(readonly conn: Connection, private readonly ctx: ImapContext) {}

  get mailbox(): Mailbox {
    return this.#mailbox!;
  }

  get selected(): SelectedFolder | undefined {
    return this.#selected;
  }

  select(selected: SelectedFolder | undefined): void {
    this.#selected?.close();
    this.#selected = selected;
    if (this.#state !== 'not-authenticated') this.#state = selected ? 'selected' : 'authenticated';
  }

  async run(): Promise<void> {
    try {
      await this.conn.send(`* OK The Microsoft Exchange IMAP4 service is ready. [${serverId()}]\r\n`);
      while (!this.#finished) {
        const read = await this.#readCommand();
        if (read === null || this.#expired) break;
        if ('error' in read) {
          await this.conn.send(`${read.tag ?? '*'} ${read.error}\r\n`);
          continue;
        }
        this.#busy = true;
        const status = await this.#dispatch(read.command);
        if (status === null) break;
        await this.conn.send(`${this.#pendingUpdates(read.command)}${read.command.tag} ${status}\r\n`);
        this.#busy = false;
        if (this.#expired) {
          this.#sayExpired();
          break;
        }
      }
      if (this.#finished) this.conn.end();
    } finally {
      this.#releaseSession?.();
      clearTimeout(this.#expiryTimer);
      this.#selected?.close();
      if (!this.conn.ending) this.conn.destroy();
    }
  }

  /** Untagged EXISTS/EXPUNGE for changes made elsewhere, sent before the tagged status. */
  #pendingUpdates(command: ImapCommand): string {
    // RFC 3501 7.4.1: no EXPUNGE while answering FETCH, STORE or SEARCH (their UID forms may).
    return this.#selected?.sync(!['FETCH', 'STORE', 'SEARCH'].includes(command.name)) ?? '';
  }

  async #readCommand(): Promise<ReadResult> {
    const segments: (string | Buffer)[] = [];
    let tag: string | undefined;
    for (;;) {
      const line = await this.conn.reader.line(MAX_LINE);
      if (line === null) return null;
      if (line === 'too-long') return { error: COMMAND_ERROR, tag };
      const text = line.toString('latin1').replace(/\r?\n$/, '');
      if (segments.length === 0) tag = tagOf(text);
      const literal = LITERAL.exec(text);
      if (!literal) {
        segments.push(text);
        break;
      }
      segments.push(text.slice(0, literal.index));
      const size = Number(literal[1]);
      const isAppend = /^\S+ APPEND /i.test(String(segments[0]));
      if (size > (isAppend ? MAX_APPEND_LITERAL : MAX_LITERAL)) {
        // A synchronizing literal can be refused; a non-synchronizing one is already on its way.
        if (literal[2] === '+') {
          this.conn.end('* BYE Literal too large.\r\n');
          return null;
        }
        return { error: 'NO [TOOBIG] Literal too large.', tag };
      }
      if (literal[2] !== '+') await this.conn.send('+ Ready for additional command text.\r\n');
      const data = await this.conn.reader.bytes(size);
      if (data === null) return null;
      segments.push(data);
    }
    if (segments.length === 1 && segments[0] === '') return { error: COMMAND_ERROR, tag: undefined };
    try {
      return { command: parseCommand(segments) };
    } catch (error) {
      if (error instanceof ImapSyntaxError) return { error: COMMAND_ERROR, tag };
      throw error;
    }
  }

  /** The tagged status text, or null when the session is over. */
  async #dispatch(command: ImapCommand): Promise<string | null> {
    const { name, args } = command;
    if (this.#notConnected && name !== 'LOGOUT') return 'BAD User is authenticated but not connected.';
    switch (name) {
      case 'CAPABILITY':
        await this.conn.send(`* CAPABILITY ${this.#state === 'not-authenticated' ? CAPABILITY_BEFORE_LOGIN : CAPABILITY_AFTER_LOGIN}\r\n`);
        return 'OK CAPABILITY completed.';
      case 'NOOP':
        return 'OK NOOP completed.';
      case 'ID':
        await this.conn.send('* ID ("name" "Microsoft.Exchange.Imap4.Imap4Server" "version" "15.20")\r\n');
        return 'OK ID completed.';
      case 'LOGOUT':
        await this.conn.send('* BYE Microsoft Exchange Server IMAP4 server signing off.\r\n');
        this.#finished = true;
        return 'OK LOGOUT completed.';
      case 'AUTHENTICATE':
        return this.#state === 'not-authenticated' ? this.#authenticate(command) : STATE_ERROR;
      case 'LOGIN':
        // Basic authentication is off in Exchange Online.
        return this.#state === 'not-authenticated' ? 'NO LOGIN failed.' : STATE_ERROR;
      case 'IDLE':
        return this.#state === 'not-authenticated' ? STATE_ERROR : this.#idle();
    }
    const uid = name === 'UID';
    const effective = uid ? astring(args[0])?.toUpperCase() ?? '' : name;
    const effectiveArgs = uid ? args.slice(1) : args;
    let handler: Handler | undefined;
    let needsSelected = false;
    if (!uid && mailboxCommands[effective]) handler = mailboxCommands[effective];
    else if (!uid && selectedCommands[effective]) [handler, needsSelected] = [selectedCommands[effective], true];
    else if (messageCommands[effective]) [handler, needsSelected] = [messageCommands[effective], true];
    if (!handler) return COMMAND_ERROR;
    if (this.#state === 'not-authenticated' || (needsSelected && this.#state !== 'selected')) return STATE_ERROR;
    try {
      return await handler(this, effectiveArgs, uid);
    } catch (error) {
      if (error instanceof ImapSyntaxError) return ARGUMENT_ERROR;
      throw error;
    }
  }

  async #authenticate(command: ImapCommand): Promise<string | null> {
    const mechanism = astring(command.args[0])?.toUpperCase();
    if (!mechanism || command.args.length > 2) return ARGUMENT_ERROR;
    if (mechanism !== 'XOAUTH2' && mechanism !== 'PLAIN') return 'NO AUTHENTICATE failed.';
    let response = astring(command.args[1]);
    if (response === undefined) {
      await this.conn.send('+ \r\n');
      const line = await this.#continuationLine();
      if (line === null) return null;
      if (line === '*') return 'BAD AUTHENTICATE aborted.';
      response = line;
    } else if (response === '=') response = '';
    if (mechanism === 'PLAIN') return 'NO AUTHENTICATE failed.';

    const verdict = checkXoauth2(this.ctx.tokens, 'imap', response);
    if (verdict.kind === 'fail') {
      if (this.ctx.controls.errorChallenge) {
        await this.conn.send(`+ ${errorChallenge(this.ctx.tokens.audience)}\r\n`);
        if ((await this.#continuationLine()) === null) return null;
      }
      return 'NO AUTHENTICATE failed.';
    }
    if (verdict.kind === 'ok') {
      const throttled = throttledText(verdict.mailbox);
      if (throttled) {
        await this.conn.send(`${command.tag} BAD ${throttled}\r\n`);
        this.conn.end('* BYE Connection closed. 14\r\n');
        return null;
      }
      this.#releaseSession = takeSession(verdict.mailbox, 'imap', this.ctx.controls.sessionLimitPerMailbox);
    }
    this.#state = 'authenticated';
    if (verdict.kind === 'ok' && this.#releaseSession) {
      this.ctx.stats.imapLogins++;
      this.#mailbox = verdict.mailbox;
    } else {
      // No permission on the mailbox, or too many sessions on it: Exchange's half-open session.
      this.#notConnected = true;
    }
    this.#scheduleExpiry(verdict.expiresAt);
    return 'OK AUTHENTICATE completed.';
  }

  async #continuationLine(): Promise<string | null> {
    const line = await this.conn.reader.line(MAX_LINE);
    if (line === null) return null;
    return line === 'too-long' ? '' : line.toString('latin1').replace(/\r?\n$/, '');
  }

  async #idle(): Promise<string | null> {
    await this.conn.send('+ IDLE accepted, awaiting DONE command.\r\n');
    const selected = this.#selected;
    const push = (): void => {
      const updates = selected?.sync(true);
      if (updates) this.conn.write(updates);
    };
    if (selected) selected.onChange = push;
    push();
    // While idling, unsolicited lines (EXISTS, the expiry BYE) may be written at any time.
    this.#busy = false;
    const line = await this.#continuationLine();
    this.#busy = true;
    if (selected) selected.onChange = undefined;
    if (line === null || this.#expired) return null;
    return line.toUpperCase() === 'DONE' ? 'OK IDLE completed.' : COMMAND_ERROR;
  }

  /** Exchange ends a session when its token expires. */
  #scheduleExpiry(expiresAt: number): void {
    const delay = Math.min(Math.max(0, expiresAt * 1000 - Date.now()), 2 ** 31 - 1);
    this.#expiryTimer = setTimeout(() => {
      this.#expired = true;
      if (!this.#busy) this.#sayExpired();
    }, delay);
  }

  #sayExpired(): void {
    this.conn.end('* BYE Session invalidated - AccessTokenExpired\r\n');
  }
}
