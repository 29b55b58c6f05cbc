import { junkLine, loginPair, maybeNoisy, plainMessage, saslResponse } from './common.js';
import { cat, CRLF, line, raw, repeat, run, text, type Piece } from './pieces.js';
import type { Rng } from './rng.js';
import type { Credentials, Input, ListenerKind } from './script.js';

/**
 * IMAP before login (RFC 3501 non-authenticated state, RFC 7888 LITERAL+, RFC 4959 SASL-IR),
 * as a grammar with mutations. Each production returns an input and whether the byte stream
 * is still in step after it: an input that leaves a literal or a SASL exchange half-sent is
 * not, and only an in-step connection can end with a LOGOUT that must be answered.
 */
export interface Made {
  input: Input;
  inStep: boolean;
}

export interface ImapGen {
  rng: Rng;
  creds: Credentials;
  listener: ListenerKind;
  nextTag: number;
}

/** A fresh, valid tag; now and then a malformed one (`*`, `+`, specials, 8-bit, very long). */
function tag(g: ImapGen, mutate = true): string {
  if (mutate && g.rng.chance(0.04)) return g.rng.pick(['*', '+', '', 'a{', 'a"b', 'a%', 'a(', '\xff', 'x'.repeat(300), 'a\\']);
  return `a${g.nextTag++}`;
}

const ATOM = /^[\x21-\x7e]+$/;
const SPECIALS = /[(){%*"\\\]]/;

/** An astring (atom, quoted or literal) carrying `value`; `cut`: a refused literal ends the command here. */
function astring(g: ImapGen, value: Buffer): { piece: Piece; inStep: boolean; cut?: boolean } {
  const { rng } = g;
  const literal = (marker: string, bytes: Buffer) => cat(text(`{${marker}}`), CRLF, raw(bytes));
  const asAtom = ATOM.test(value.toString('latin1')) && !SPECIALS.test(value.toString('latin1'));
  return rng.weighted<() => { piece: Piece; inStep: boolean; cut?: boolean }>([
    [asAtom ? 20 : 0, () => ({ piece: raw(value), inStep: true })],
    [20, () => ({ piece: cat(text('"'), raw(Buffer.from(value.toString('latin1').replace(/[\\"]/g, '\\$&'), 'latin1')), text('"')), inStep: true })],
    [3, () => ({ piece: cat(text('"'), raw(value), text('\\x"')), inStep: true })],
    [2, () => ({ piece: cat(text('"'), raw(value)), inStep: true })],
    [10, () => ({ piece: literal(`${value.length}`, value), inStep: true })],
    [10, () => ({ piece: literal(`${value.length}+`, value), inStep: true })],
    // Declares more than it sends: the rest of the connection is swallowed as literal bytes.
    [2, () => ({ piece: literal(`${value.length + rng.int(1, 40)}+`, value), inStep: false })],
    // Too large: a polite client stops after the marker and waits for the refusal.
    [3, () => ({ piece: text(`{${rng.pick(['99999999', '4294967295', '65537', '1000000'])}}`), inStep: true, cut: true })],
    [2, () => ({ piece: text(`{${rng.pick(['99999999', '65537'])}+}`), inStep: true, cut: true })],
    [2, () => ({ piece: text(`{${rng.pick(['99999999999', '-1', '', '1 +', '0x10'])}}`), inStep: true })],
  ])();
}

/** A correct encoding of any value: quoted when it can be, else a literal. */
function goodAstring(g: ImapGen, value: Buffer): { piece: Piece; inStep: boolean } {
  const quotable = !/[\r\n\0]/.test(value.toString('latin1'));
  if (quotable && g.rng.chance(0.6)) return { piece: cat(text('"'), raw(Buffer.from(value.toString('latin1').replace(/[\\"]/g, '\\$&'), 'latin1')), text('"')), inStep: true };
  return { piece: cat(text(`{${value.length}${g.rng.chance(0.5) ? '+' : ''}}`), CRLF, raw(value)), inStep: true };
}

/** `tag LOGIN user pass`, with right or wrong credentials and every way to write them. */
export function login(g: ImapGen, right = false): Made {
  const { rng } = g;
  const { user, pass } = loginPair(rng, g.creds, right);
  const head = text(`${tag(g, !right)} ${rng.pick(['LOGIN', 'LOGIN', 'login', 'LoGiN'])} `);
  const first = right ? { piece: raw(user), inStep: true } : astring(g, user);
  if (first.cut) return { input: { ...line(head, first.piece), await: right }, inStep: true };
  const second = right ? goodAstring(g, pass) : astring(g, pass);
  const shape = right ? 0 : rng.int(0, 12);
  const args = shape === 1 ? [first.piece] : shape === 2 ? [first.piece, second.piece, text('extra')] : shape === 3 ? [text('('), first.piece, second.piece, text(')')] : [first.piece, second.piece];
  const spaced = args.flatMap((piece, i) => (i === 0 ? [piece] : [text(' '), piece]));
  return { input: { ...line(head, ...spaced), await: right }, inStep: first.inStep && second.inStep };
}

/** AUTHENTICATE PLAIN or LOGIN, with or without an initial response, good or broken. */
export function authenticate(g: ImapGen, right = false): Made {
  const { rng } = g;
  const { user, pass } = loginPair(rng, g.creds, right);
  const t = tag(g, !right);
  const mechanism = right ? rng.pick(['PLAIN', 'LOGIN']) : rng.weighted([[10, 'PLAIN'], [8, 'LOGIN'], [2, 'XOAUTH2'], [1, 'CRAM-MD5'], [1, 'plain'], [1, '']]);
  const respond = (payload: Buffer) => (right ? text(payload.toString('base64')) : saslResponse(rng, payload));
  const lines: Piece[] = [];
  if (mechanism.toUpperCase() === 'PLAIN') {
    const message = right ? Buffer.concat([Buffer.from([0]), user, Buffer.from([0]), pass]) : plainMessage(rng, user, pass);
    const response = respond(message);
    // An empty initial response is no initial response: the exchange stays open.
    if (response.bytes.length > 0 && rng.chance(0.5)) lines.push(line(text(`${t} AUTHENTICATE ${mechanism} `), response));
    else lines.push(line(text(`${t} AUTHENTICATE ${mechanism}`)), line(response));
  } else if (mechanism === 'LOGIN') {
    const response = respond(user);
    if (response.bytes.length > 0 && rng.chance(0.3)) lines.push(line(text(`${t} AUTHENTICATE LOGIN `), response));
    else lines.push(line(text(`${t} AUTHENTICATE LOGIN`)), line(response));
    lines.push(line(respond(pass)));
  } else {
    lines.push(line(text(`${t} AUTHENTICATE ${mechanism}`)), line(respond(user)));
  }
  // A client that gives up halfway leaves the exchange open: the next command is read as an answer.
  const abandon = !right && lines.length > 1 && rng.chance(0.05);
  return { input: { ...cat(...(abandon ? lines.slice(0, -1) : lines)), await: right }, inStep: !abandon };
}

/** STARTTLS, alone (lockstep: the handshake follows) or with commands pipelined behind it. */
export function startTls(g: ImapGen, lockstep: boolean): Made {
  const t = tag(g, false);
  const injected = g.rng.chance(0.4) ? line(text(`inj${g.nextTag++} CAPABILITY`)) : undefined;
  const bytes = injected ? cat(line(text(`${t} STARTTLS`)), injected) : line(text(`${t} STARTTLS`));
  // Pipelined on a STARTTLS listener, the proxy waits for a TLS hello that never comes.
  return { input: { ...bytes, await: lockstep, ...(lockstep ? { tlsIf: new RegExp(`^${t} OK`) } : {}) }, inStep: lockstep || g.listener !== 'starttls' };
}

/** A command the proxy answers itself, or one that needs a login, written well or badly. */
export function simple(g: ImapGen): Made {
  const { rng } = g;
  const command = rng.weighted<() => Piece>([
    [10, () => text('CAPABILITY')],
    [6, () => text('NOOP')],
    [4, () => text(rng.pick(['ID NIL', 'ID ("name" "fuzz" "version" "1")', 'ID (', 'ID ("a\\"b" NIL)', 'ID ((("x")))']))],
    [2, () => cat(text('ID ("name" {4+}'), CRLF, text('fuzz)'))],
    [4, () => text(rng.pick(['SELECT INBOX', 'EXAMINE "INBOX"', 'UID FETCH 1:* (FLAGS)', 'FETCH 1 (BODY[])', 'LIST "" "*"', 'IDLE', 'ENABLE UTF8=ACCEPT']))],
    [2, () => cat(text('APPEND INBOX {5+}'), CRLF, text('hello'))],
    [3, () => text(rng.pick(['FOO', 'capability', 'NOOP extra args', 'XYZZY 1 2 3', 'LOGIN', 'AUTHENTICATE', 'STARTTLS now']))],
  ])();
  // "STARTTLS now" is taken as STARTTLS: on a STARTTLS listener, a TLS hello is owed after it.
  const tls = g.listener === 'starttls' && command.bytes.toString('latin1').startsWith('STARTTLS');
  return { input: line(maybeNoisy(rng, text(`${tag(g)} `)), command), inStep: !tls };
}

/** Many commands in one write, none waiting for its answer. */
export function burst(g: ImapGen): Made {
  const count = g.rng.skewed(5, 400);
  const commands = Array.from({ length: count }, () => line(text(`${tag(g, false)} ${g.rng.weighted([[6, 'NOOP'], [6, 'CAPABILITY'], [2, 'ID NIL'], [1, 'SELECT INBOX']])}`)));
  return { input: cat(...commands), inStep: true };
}

/** A command with several literals in a row, each exactly as long as announced. */
export function literalChain(g: ImapGen): Made {
  const { rng } = g;
  const count = rng.skewed(2, 64);
  const parts: Piece[] = [text(`${tag(g, false)} LOGIN`)];
  for (let i = 0; i < count; i++) {
    const size = rng.skewed(0, 2048);
    parts.push(text(` {${size}${rng.chance(0.7) ? '+' : ''}}`), CRLF, run('x', size));
  }
  return { input: line(...parts), inStep: true };
}

export function junk(g: ImapGen): Made {
  // A junk line with no CRLF at the end would join the next command: still in step afterwards
  // only if the junk itself ends the line.
  return { input: junkLine(g.rng), inStep: true };
}

export function logout(g: ImapGen): Input {
  return { ...line(text(`${tag(g, false)} LOGOUT`)), await: true };
}

/** Heavy attacks, one per scheduled connection (see schedule.ts). */
export const IMAP_ATTACKS: Record<string, (g: ImapGen) => Input[]> = {
  // Issue 7 #1: non-synchronizing literals chained without end grow the command buffer.
  'literal-chain-1': (g) => [{ ...cat(text(`${tag(g, false)} LOGIN {1+}`), CRLF, repeat(text('x {1+}\r\n'), g.rng.int(1_000_000, 2_000_000)), text('x\r\n')) }],
  'literal-chain-64k': (g) => [{ ...cat(text(`${tag(g, false)} LOGIN {65536+}`), CRLF, repeat(cat(run('x', 65536), text(' {65536+}\r\n')), g.rng.int(96, 256)), run('x', 65536), CRLF) }],
  // Issue 7 #3: answers the client never reads.
  'unread-answers': (g) => [{ ...repeat(text('a CAPABILITY\r\n'), g.rng.int(400_000, 1_000_000)) }],
  'long-line': (g) => [{ ...run('x', g.rng.int(1, 16) * 1024 * 1024) }],
};
