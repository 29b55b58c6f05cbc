import type { Rng } from './rng.js';
import { cat, line, raw, run, text, type Piece } from './pieces.js';
import type { Credentials } from './script.js';

/**
 * Grammar pieces all three protocols share: usernames and passwords (right, wrong and
 * malformed), SASL payloads and base64 (good, bad, cancelled), and the bytes that break
 * naive parsers (NUL, 8-bit, bare CR and LF, overlong runs).
 */

/**
 * A username as raw bytes: mostly the account's (so most failures are wrong passwords), else
 * one of a fixed few strangers. Fixed, so the proxy's lockout sees them again: every unknown
 * username costs a full-price scrypt check, by design, and a stream of new ones would measure
 * scrypt rather than the protocol fronts.
 */
export function username(rng: Rng, creds: Credentials): Buffer {
  return rng.weighted<() => Buffer>([
    [40, () => Buffer.from(creds.user)],
    [5, () => Buffer.from(creds.user.toUpperCase())],
    [4, () => Buffer.from(rng.pick(['nobody', 'invoices@contoso.test']))],
    [3, () => Buffer.alloc(0)],
    // A password typed into the username field must not end up in the log either.
    [3, () => Buffer.from(creds.password)],
    [2, () => Buffer.from('tälend', rng.pick(['latin1', 'utf8'] as const))],
    [2, () => Buffer.concat([Buffer.from(creds.user), Buffer.from([0]), Buffer.from('x')])],
    [2, () => Buffer.alloc(rng.pick([300, 9000, 20_000]), 'u')],
    [2, () => Buffer.from(rng.pick(['\xff\xfe', 'a\x80b', '\xc3(', '\r', ' ']), 'latin1')],
  ])();
}

/** A password as raw bytes; `right` asks for one that logs in. */
export function password(rng: Rng, creds: Credentials, right: boolean): Buffer {
  if (right) return Buffer.from(creds.password, 'utf8');
  return rng.weighted<() => Buffer>([
    [10, () => Buffer.from(`${creds.password}x`, 'utf8')],
    [6, () => Buffer.from(creds.password.slice(0, -1), 'utf8')],
    [10, () => Buffer.from(rng.pick(['wrong', 'password', '123456', 'Passw0rd!', ' ', '""']))],
    [4, () => Buffer.alloc(0)],
    [3, () => Buffer.concat([Buffer.from(creds.password, 'utf8'), Buffer.from([0])])],
    [3, () => Buffer.alloc(rng.skewed(100, 20_000), 'p')],
    [3, () => rng.bytes(rng.int(1, 16))],
  ])();
}

/** The right credentials in about `p` of logins, wrong or malformed ones otherwise. */
export function loginPair(rng: Rng, creds: Credentials, right: boolean): { user: Buffer; pass: Buffer } {
  if (right) return { user: Buffer.from(creds.user), pass: password(rng, creds, true) };
  const user = username(rng, creds);
  // The right password, but only with another user: a login that succeeds halfway through a
  // connection would hand the rest of the fuzz input to the upstream, which is not under test.
  const isAccount = user.toString('latin1').toLowerCase() === creds.user.toLowerCase();
  return { user, pass: password(rng, creds, !isAccount && rng.chance(0.05)) };
}

/** A SASL PLAIN message (RFC 4616: authzid NUL authcid NUL passwd), well-formed or not. */
export function plainMessage(rng: Rng, user: Buffer, pass: Buffer): Buffer {
  const nul = Buffer.from([0]);
  return rng.weighted<() => Buffer>([
    [20, () => Buffer.concat([nul, user, nul, pass])],
    [3, () => Buffer.concat([user, nul, user, nul, pass])],
    [3, () => Buffer.concat([Buffer.from('someone-else'), nul, user, nul, pass])],
    [3, () => Buffer.concat([user, nul, pass])],
    [2, () => Buffer.concat([nul, user, nul, pass, nul, Buffer.from('x')])],
    [1, () => Buffer.alloc(0)],
  ])();
}

/** A client's SASL response line: base64 of `payload`, or a broken one, or the `*` cancel. */
export function saslResponse(rng: Rng, payload: Buffer): Piece {
  return rng.weighted<() => Piece>([
    [24, () => text(payload.toString('base64'))],
    [3, () => text('*')],
    [2, () => text('=')],
    [2, () => text('')],
    [3, () => text(`${payload.toString('base64')}!`)],
    [2, () => text(payload.toString('base64').replace(/=+$/, ''))],
    [2, () => text(rng.pick(['@@@@', 'a', 'AGFi YwBk', '====', 'AG\tFi']))],
    [1, () => run('Q', rng.skewed(1000, 40_000))],
  ])();
}

/** A line of junk: what a confused or hostile client sends where a command belongs. */
export function junkLine(rng: Rng): Piece {
  return line(junk(rng));
}

export function junk(rng: Rng): Piece {
  return rng.weighted<() => Piece>([
    [4, () => text('')],
    [3, () => text('   ')],
    [4, () => raw(rng.bytes(rng.int(1, 24)))],
    [3, () => text(`\0${rng.pick(['LOGIN', 'USER', 'EHLO'])}\0`)],
    [3, () => text(rng.pick(['\xff\xfe\xfd', 'é', '\x1b[2J', '\t', '\r', '\n', '\r\r', '\n\n']))],
    [2, () => text('GET / HTTP/1.1')],
    [1, () => run('x', rng.skewed(1000, 70_000))],
  ])();
}

/** Bytes that break naive parsers, to splice into otherwise good commands. */
export function noise(rng: Rng): Piece {
  return text(rng.pick(['\0', '\xff', '\r', '\n', '\t', ' ', '  ', 'é', '"', '\\', '{', '}', '(', ')', '*', '%']));
}

/** Sometimes slips noise into a good command, as a mutation. */
export function maybeNoisy(rng: Rng, piece: Piece, p = 0.08): Piece {
  if (!rng.chance(p) || piece.bytes.length === 0) return piece;
  const at = rng.int(0, piece.bytes.length);
  return cat(raw(piece.bytes.subarray(0, at)), noise(rng), raw(piece.bytes.subarray(at)));
}
