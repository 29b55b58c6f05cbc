import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mulberry32 } from '../helpers/random.js';
import { leftovers, PASSWORD, sampleMessage, startStack, USER, type Stack } from '../helpers/stack.js';
import { PATIENCE } from '../helpers/wait.js';

/**
 * Clients that leave a piped session in every rude way: in the middle of a 2 MiB answer,
 * right after a command, after a half-close, after they stopped reading. Whatever they do,
 * the proxy must close its side and the upstream session soon after, and leave nothing open.
 * Seeded, so a failure can be replayed.
 */
const SESSIONS = 60;

const SCRIPTS = {
  imap: [`a LOGIN ${USER} {${Buffer.byteLength(PASSWORD)}+}\r\n${PASSWORD}\r\n`, 'b SELECT INBOX\r\n', 'c FETCH 1:* BODY[]\r\n', 'd NOOP\r\n', 'e LOGOUT\r\n'],
  pop3: [`USER ${USER}\r\nPASS ${PASSWORD}\r\n`, 'STAT\r\n', 'RETR 1\r\n', 'LIST\r\n', 'QUIT\r\n'],
};
const LOGGED_IN = { imap: /^a OK/m, pop3: /^\+OK Logged in/m };

type Exit = 'destroy' | 'end' | 'stop-reading-then-destroy' | 'wait-for-close';

function rudeSession(port: number, protocol: 'imap' | 'pop3', next: () => number): Promise<void> {
  const exits: Exit[] = ['destroy', 'end', 'stop-reading-then-destroy', 'wait-for-close'];
  const exit = exits[Math.floor(next() * exits.length)]!;
  const commands = 1 + Math.floor(next() * (SCRIPTS[protocol].length - 1));
  const leaveAfterMs = Math.floor(next() * 40);
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    let loggedIn = false;
    const leave = () => {
      if (exit === 'destroy') socket.destroy();
      else if (exit === 'end') socket.end();
      else if (exit === 'stop-reading-then-destroy') {
        socket.pause();
        setTimeout(() => socket.destroy(), 100);
      }
      // 'wait-for-close': the last command was LOGOUT/QUIT or the server ends it.
    };
    socket.on('data', (chunk: Buffer) => {
      if (loggedIn) return;
      received += chunk.toString('latin1');
      if (!LOGGED_IN[protocol].test(received)) return;
      loggedIn = true;
      const script = SCRIPTS[protocol].slice(1, 1 + commands);
      if (exit === 'wait-for-close') script.push(SCRIPTS[protocol].at(-1)!);
      socket.write(script.join(''));
      setTimeout(leave, leaveAfterMs);
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve());
    socket.once('connect', () => socket.write(SCRIPTS[protocol][0]!));
    // A session that is not closed by then has leaked; the assertions below say so.
    setTimeout(() => {
      socket.destroy();
      resolve();
    }, 8_000).unref();
  });
}

let stack: Stack;
beforeAll(async () => {
  const big = sampleMessage('big', `${'0123456789abcdef'.repeat(64)}\r\n`.repeat(2048));
  stack = await startStack({ messages: [big, sampleMessage('small')] });
});
afterAll(() => stack?.close());

describe('rude clients in piped sessions', () => {
  it.each(['imap', 'pop3'] as const)('%s: every session closes, on both sides, soon after the client is gone', async (protocol) => {
    const next = mulberry32(protocol === 'imap' ? 11 : 12);
    await Promise.all(Array.from({ length: SESSIONS }, () => rudeSession(stack.port(protocol), protocol, next)));
    expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
    // The sandbox saw every upstream session end too.
    await vi.waitFor(() => expect(stack.sandbox.openConnections()).toBe(0), { ...PATIENCE, timeout: 2_000 });
  }, 30_000);
});
