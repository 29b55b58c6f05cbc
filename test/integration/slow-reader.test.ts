import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TlsMode } from '../../src/config/types.js';
import { leftovers, PASSWORD, startStack, USER, type Stack } from '../helpers/stack.js';

// A client that stops reading while Exchange sends a large message must cost the proxy a
// bounded queue, not the message: the proxy stops reading Exchange once its queue to the
// client is full (fronts/pipe.ts). Measured in this process with the garbage collected, so
// only live bytes count; the sandbox and the clients here wait for their own sockets too,
// so what grows without that bound is the proxy's queue.

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const MESSAGE_BYTES = 32 * 1024 * 1024;
const SESSIONS: TlsMode[] = ['none', 'none', 'implicit', 'implicit'];
/** What a stalled session may hold: the 1 MiB queue, a read chunk, TLS records, slack. */
const MAX_BYTES_PER_STALLED_SESSION = 3 * 1024 * 1024;

let stack: Stack;
const big = Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), Buffer.alloc(MESSAGE_BYTES, 'All work and no play makes Jack a dull boy.\r\n')]);

beforeAll(async () => {
  stack = await startStack({ messages: [big] });
});
afterAll(() => stack?.close());

function liveBytes(): number {
  collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Reads what `socket` sends until `pattern` matches the text so far. */
function readUntil(socket: Socket, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (!pattern.test(text)) return;
      socket.off('data', onData);
      resolve();
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** A logged-in client that asked for the big message and does not read it. */
async function stalledFetch(tls: TlsMode): Promise<Socket> {
  const port = stack.port('imap', tls);
  const socket = tls === 'implicit' ? tlsConnect({ host: '127.0.0.1', port, ca: stack.localCa, servername: 'localhost' }) : connect({ host: '127.0.0.1', port });
  await readUntil(socket, /^\* OK.*\r\n/);
  socket.write(`a LOGIN ${USER} {${Buffer.byteLength(PASSWORD)}+}\r\n${PASSWORD}\r\nb SELECT INBOX\r\n`);
  await readUntil(socket, /\r\nb OK.*\r\n/);
  socket.pause();
  socket.write('c FETCH 1 BODY.PEEK[]\r\n');
  return socket;
}

/** Reads on to the end of the FETCH; the number of bytes it took. */
function readToEnd(socket: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = 0;
    let tail = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      tail = (tail + chunk.subarray(-64).toString('latin1')).slice(-64);
      if (/\r\nc OK.*\r\n$/.test(tail)) resolve(received);
    });
    socket.once('error', reject);
    socket.resume();
  });
}

/** Waits until live memory stops changing (the pipes are stalled), and returns it. */
async function settledLiveBytes(): Promise<number> {
  const samples = [liveBytes()];
  for (let i = 0; i < 60; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    samples.push(liveBytes());
    const recent = samples.slice(-4);
    if (recent.length === 4 && Math.max(...recent) - Math.min(...recent) < 256 * 1024) break;
  }
  return samples.at(-1)!;
}

it('a client that stops reading a 32 MiB FETCH costs the proxy about 1 MiB, and later gets every byte', async () => {
  const before = liveBytes();
  const sockets = await Promise.all(SESSIONS.map(stalledFetch));
  const stalled = await settledLiveBytes();
  expect(stalled - before).toBeLessThan(SESSIONS.length * MAX_BYTES_PER_STALLED_SESSION);

  const received = await Promise.all(sockets.map(readToEnd));
  // The literal, its "* 1 FETCH (BODY[] {n}" line and the closing lines: all of it, once.
  for (const count of received) expect(count).toBeGreaterThan(big.length);
  for (const count of received) expect(count).toBeLessThan(big.length + 200);
  for (const socket of sockets) socket.destroy();
}, 120_000);

// Runs last in this file: whatever the tests above did, nothing may be left behind.
it('leaves no session open and logs nothing at error level', async () => {
  expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
});
