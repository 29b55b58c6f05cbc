import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Protocol, TlsMode } from '../../src/config/types.js';
import { mulberry32 } from '../helpers/random.js';
import { leftovers, python, startStack, USER, type Stack } from '../helpers/stack.js';

/**
 * Bad input never crashes the proxy or a session: hundreds of connections per protocol send
 * protocol-flavoured garbage before login (random commands, quotes, literals, SASL junk, NULs,
 * 8-bit bytes, bare CR and LF, long runs), split at random points. Afterwards every listener
 * still serves a real client, no session is left behind, and no unexpected error was logged.
 * The generator is seeded, so a failure can be replayed.
 */
const SEED = 0x5eed;
const SESSIONS_PER_LISTENER = 120;

const WORDS: Record<Protocol, string[]> = {
  imap: ['a', '*', 'LOGIN', 'AUTHENTICATE', 'PLAIN', 'LOGIN', 'CAPABILITY', 'NOOP', 'ID', 'STARTTLS', 'SELECT', 'LOGOUT', 'UID', 'FETCH', '"', '\\', '{5}', '{3+}', '{99999999}', '{-1}', '{', '}', '(', ')', 'NIL', USER, 'AGFiYwBk', '=', ' ', '  '],
  pop3: ['USER', 'PASS', 'AUTH', 'PLAIN', 'LOGIN', 'CAPA', 'STLS', 'STAT', 'RETR', 'APOP', 'QUIT', '*', '=', 'AGFiYwBk', USER, ' ', '  ', '+'],
  smtp: ['EHLO', 'HELO', 'AUTH', 'PLAIN', 'LOGIN', 'MAIL FROM:<a@b>', 'RCPT TO:<c@d>', 'DATA', '.', 'RSET', 'NOOP', 'STARTTLS', 'BDAT 5', '*', '=', 'AGFiYwBk', USER, ' ', '<', '>'],
};
const NOISE = ['\r\n', '\r\n', '\r\n', '\r', '\n', '\0', '\xff\xfe', 'é', '\t', '\x1b[2J'];

function garbage(protocol: Protocol, next: () => number): Buffer {
  const pick = <T>(list: T[]) => list[Math.floor(next() * list.length)]!;
  const parts: string[] = [];
  const length = 1 + Math.floor(next() * 40);
  for (let i = 0; i < length; i++) {
    const roll = next();
    if (roll < 0.55) parts.push(pick(WORDS[protocol]));
    else if (roll < 0.85) parts.push(pick(NOISE));
    else if (roll < 0.97) parts.push(String.fromCharCode(...Array.from({ length: 1 + Math.floor(next() * 12) }, () => Math.floor(next() * 256))));
    else parts.push('x'.repeat(Math.floor(next() * 20_000)));
  }
  return Buffer.from(parts.join(''), 'latin1');
}

/**
 * Sends one garbage session: the bytes in random pieces, then a short wait, then goes away.
 * With `ca`, the garbage goes inside a TLS session (implicit TLS listeners).
 */
function session(port: number, bytes: Buffer, next: () => number, ca?: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = ca
      ? tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' })
      : connect({ host: '127.0.0.1', port });
    const done = () => {
      socket.destroy();
      resolve();
    };
    socket.on('error', done);
    socket.on('close', done);
    socket.on('data', () => {});
    socket.once(ca ? 'secureConnect' : 'connect', () => {
      let offset = 0;
      while (offset < bytes.length && !socket.destroyed) {
        const size = 1 + Math.floor(next() * 64);
        socket.write(bytes.subarray(offset, offset + size));
        offset += size;
      }
      setTimeout(done, 50 + Math.floor(next() * 150));
    });
  });
}

let stack: Stack;
beforeAll(async () => {
  // Lockouts and idle timers are not under test here; make them stay out of the way.
  stack = await startStack({ config: { clients: { maxFailedLogins: 0 } } });
});
afterAll(() => stack?.close());

describe('garbage before login', () => {
  const listeners = (['imap', 'pop3', 'smtp'] as const).flatMap((protocol) => (['none', 'starttls', 'implicit'] as const).map((tls) => [protocol, tls]));
  it.each(listeners as [Protocol, TlsMode][])(
    '%s (%s): answered or closed, never a crash; the listener still serves a real client',
    async (protocol, tls) => {
      const next = mulberry32(SEED + protocol.length * 31 + tls.length);
      const port = stack.port(protocol, tls);
      for (let batch = 0; batch < SESSIONS_PER_LISTENER; batch += 20) {
        // On implicit TLS listeners, every other session sends its garbage as the TLS hello itself.
        await Promise.all(Array.from({ length: 20 }, (_, i) => session(port, garbage(protocol, next), next, tls === 'implicit' && i % 2 === 0 ? stack.localCa : undefined)));
      }
      expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
      const seen = await python(stack, { client: protocol, tls, auth: protocol === 'pop3' ? 'USER' : protocol === 'imap' ? 'LOGIN' : 'PLAIN' });
      expect(seen.loginError).toBeUndefined();
    },
  );
});
