// One POP3 connection to the sandbox's Exchange (RFC 1939, RFC 5034 AUTH): XOAUTH2 login
// only, then the INBOX as a maildrop; deletions are applied on QUIT.
import { serverId } from '../exchange/identity.js';
import { takeSession, throttledText } from '../exchange/limits.js';
import { checkXoauth2, errorChallenge, type TokenCheckContext } from '../exchange/token-check.js';
import type { Folder, StoredMessage } from '../mail-store.js';
import type { Connection } from '../net/connection.js';
import type { SandboxControls, SandboxStats } from '../types.js';
import { splitMessage } from '../rfc5322.js';
import { dotStuffed } from './dot-stuffing.js';

export interface Pop3Context {
  tokens: TokenCheckContext;
  controls: SandboxControls;
  stats: SandboxStats;
}

/** Longest command line; AUTH XOAUTH2 with an initial response is about 2.5 KB. */
const MAX_LINE = 64 * 1024;

const AUTH_FAILED = '-ERR Authentication failure: unknown user name or bad password.';
const BAD_STATE = '-ERR Command is not valid in this state.';
const PROTOCOL_ERROR = '-ERR Protocol error. 14';
const NO_SUCH_MESSAGE = '-ERR The specified message is out of range.';

interface Maildrop {
  folder: Folder;
  messages: StoredMessage[];
  deleted: Set<number>;
}

export class Pop3Session {
  #maildrop: Maildrop | undefined;
  #userGiven = false;
  /** Gives back this session's place among the mailbox's sessions. */
  #releaseSession: (() => void) | undefined;

  constructor(private readonly conn: Connection, private readonly ctx: Pop3Context) {}

  async run(): Promise<void> {
    try {
      await this.conn.send(`+OK The Microsoft Exchange POP3 service is ready. [${serverId()}]\r\n`);
      for (;;) {
        const line = await this.#line();
        if (line === null) break;
        if (line === 'too-long') {
          await this.conn.send(`${PROTOCOL_ERROR}\r\n`);
          continue;
        }
        const [verb = '', ...args] = line.split(' ');
        if (!(await this.#command(verb.toUpperCase(), args))) break;
      }
    } finally {
      this.#releaseSession?.();
      if (!this.conn.ending) this.conn.destroy();
    }
  }

  async #line(): Promise<string | 'too-long' | null> {
    const line = await this.conn.reader.line(MAX_LINE);
    if (line === null || line === 'too-long') return line;
    return line.toString('latin1').replace(/\r?\n$/, '');
  }

  async #reply(text: string): Promise<true> {
    await this.conn.send(`${text}\r\n`);
    return true;
  }

  /** Handles one command; false ends the session. */
  async #command(verb: string, args: string[]): Promise<boolean> {
    switch (verb) {
      case 'CAPA':
        return this.#reply('+OK\r\nTOP\r\nUIDL\r\nSASL PLAIN XOAUTH2\r\nUSER\r\n.');
      case 'QUIT':
        this.#applyDeletes();
        this.conn.end('+OK Microsoft Exchange Server POP3 server signing off.\r\n');
        return false;
      case 'NOOP':
        return this.#reply(this.#maildrop ? '+OK' : BAD_STATE);
    }
    if (!this.#maildrop) {
      switch (verb) {
        case 'USER':
          // Exchange accepts any name here and refuses at PASS: basic authentication is off.
          this.#userGiven = args.length > 0;
          return this.#reply(this.#userGiven ? '+OK' : PROTOCOL_ERROR);
        case 'PASS':
          if (!this.#userGiven) return this.#reply(BAD_STATE);
          this.#userGiven = false;
          return this.#reply('-ERR Logon failure: unknown user name or bad password.');
        case 'AUTH':
          return this.#auth(args);
        case 'STAT': case 'LIST': case 'UIDL': case 'RETR': case 'TOP': case 'DELE': case 'RSET':
          return this.#reply(BAD_STATE);
        default:
          return this.#reply(PROTOCOL_ERROR);
      }
    }
    return this.#transaction(verb, args, this.#maildrop);
  }

  async #auth(args: string[]): Promise<boolean> {
    const mechanism = args[0]?.toUpperCase();
    if (!mechanism) return this.#reply('+OK\r\nPLAIN\r\nXOAUTH2\r\n.');
    if (mechanism !== 'XOAUTH2' && mechanism !== 'PLAIN') return this.#reply('-ERR Unrecognized authentication type.');
    let response = args[1];
    if (response === undefined) {
      await this.conn.send('+ \r\n');
      const line = await this.#line();
      if (line === null) return false;
      if (line === '*') return this.#reply('-ERR Authentication canceled.');
      response = line === 'too-long' ? '' : line;
    } else if (response === '=') response = '';
    if (mechanism === 'PLAIN') return this.#reply(AUTH_FAILED);

    const verdict = checkXoauth2(this.ctx.tokens, 'pop3', response);
    if (verdict.kind !== 'ok') {
      if (this.ctx.controls.errorChallenge) {
        await this.conn.send(`+ ${errorChallenge(this.ctx.tokens.audience)}\r\n`);
        if ((await this.#line()) === null) return false;
      }
      return this.#reply(AUTH_FAILED);
    }
    const throttled = throttledText(verdict.mailbox);
    if (throttled) {
      this.conn.end(`-ERR ${throttled}\r\n`);
      return false;
    }
    this.#releaseSession = takeSession(verdict.mailbox, 'pop3', this.ctx.controls.sessionLimitPerMailbox);
    // Past the limit the connection is just closed.
    if (!this.#releaseSession) return false;
    this.ctx.stats.pop3Logins++;
    const folder = verdict.mailbox.inbox;
    this.#maildrop = { folder, messages: [...folder.messages], deleted: new Set() };
    return this.#reply('+OK User successfully authenticated.');
  }

  async #transaction(verb: string, args: string[], drop: Maildrop): Promise<boolean> {
    // message numbers are 1-based; deleted ones are out of reach until RSET
    const message = (arg: string | undefined): [number, StoredMessage] | undefined => {
      if (arg === undefined || !/^\d{1,9}$/.test(arg)) return undefined;
      const n = Number(arg);
      const found = drop.messages[n - 1];
      return found && !drop.deleted.has(n) ? [n, found] : undefined;
    };
    const live = (): Array<[number, StoredMessage]> => drop.messages.flatMap((m, i) => (drop.deleted.has(i + 1) ? [] : [[i + 1, m] as [number, StoredMessage]]));
    switch (verb) {
      case 'STAT': {
        const all = live();
        return this.#reply(`+OK ${all.length} ${all.reduce((sum, [, m]) => sum + m.raw.length, 0)}`);
      }
      case 'LIST':
      case 'UIDL': {
        const value = (_n: number, m: StoredMessage): string => (verb === 'LIST' ? String(m.raw.length) : uniqueId(drop.folder, m));
        if (args[0] !== undefined) {
          const found = message(args[0]);
          return this.#reply(found ? `+OK ${found[0]} ${value(...found)}` : NO_SUCH_MESSAGE);
        }
        const all = live();
        const lines = all.map(([n, m]) => `${n} ${value(n, m)}\r\n`).join('');
        const head = verb === 'LIST' ? `+OK ${all.length} messages (${all.reduce((s, [, m]) => s + m.raw.length, 0)} octets)` : '+OK';
        return this.#reply(`${head}\r\n${lines}.`);
      }
      case 'RETR':
      case 'TOP': {
        const found = message(args[0]);
        const lines = verb === 'TOP' ? (args[1] !== undefined && /^\d{1,9}$/.test(args[1]) ? Number(args[1]) : undefined) : Infinity;
        if (!found || lines === undefined) return this.#reply(found ? PROTOCOL_ERROR : NO_SUCH_MESSAGE);
        const raw = found[1].raw;
        await this.conn.send(verb === 'RETR' ? `+OK ${raw.length} octets\r\n` : '+OK\r\n');
        for (const piece of dotStuffed(verb === 'RETR' ? raw : top(raw, lines))) await this.conn.send(piece);
        return true;
      }
      case 'DELE': {
        const found = message(args[0]);
        if (!found) return this.#reply(NO_SUCH_MESSAGE);
        drop.deleted.add(found[0]);
        return this.#reply('+OK');
      }
      case 'RSET':
        drop.deleted.clear();
        return this.#reply('+OK');
      case 'USER': case 'PASS': case 'AUTH':
        return this.#reply(BAD_STATE);
      default:
        return this.#reply(PROTOCOL_ERROR);
    }
  }

  #applyDeletes(): void {
    const drop = this.#maildrop;
    if (!drop || drop.deleted.size === 0) return;
    const doomed = new Set([...drop.deleted].map((n) => drop.messages[n - 1]));
    drop.folder.expunge((m) => doomed.has(m));
  }
}

/** UIDL: unique and stable per message (1 to 70 printable characters). */
function uniqueId(folder: Folder, message: StoredMessage): string {
  return Buffer.from(`${folder.uidValidity}:${message.uid}`).toString('base64url');
}

/** TOP: the header, the empty line, and the first `lines` lines of the body. */
function top(raw: Buffer, lines: number): Buffer {
  const { header, body } = splitMessage(raw);
  let end = 0;
  for (let i = 0; i < lines && end < body.length; i++) {
    const lf = body.indexOf(0x0a, end);
    end = lf < 0 ? body.length : lf + 1;
  }
  return Buffer.concat([header, body.subarray(0, end)]);
}
