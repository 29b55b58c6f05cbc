import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TlsMode } from '../../src/config/types.js';
import { sha256 } from '../helpers/digest.js';
import { mulberry32 } from '../helpers/random.js';
import { leftovers, MAILBOX, PASSWORD, startStack, USER, type Stack } from '../helpers/stack.js';
import { WireClient } from '../helpers/wire.js';

// After login the proxy forwards bytes in batches, with its own back-pressure threshold
// (fronts/pipe.ts). Whatever the batching, every byte arrives once, in order, both ways, on
// plain and TLS listeners, for messages many times larger than the queue limit (1 MiB).

const SIZE = 8 * 1024 * 1024;

/**
 * A message of 8-bit binary lines (every byte value but CR and LF, NUL included), CRLF line
 * ends, every 97th line starting with "." (POP3 and SMTP must stuff it), seeded.
 */
function binaryMessage(subject: string, seed: number): Buffer {
  const random = mulberry32(seed);
  const head = Buffer.from(`From: ${MAILBOX}\r\nTo: ${MAILBOX}\r\nSubject: ${subject}\r\n\r\n`);
  const body = Buffer.alloc(SIZE);
  let lines = 0;
  let lineStart = 0;
  for (let i = 0; i < SIZE - 2; i++) {
    if (i - lineStart >= 998 || (i > lineStart && random() < 0.01)) {
      body[i++] = 13;
      body[i] = 10;
      lineStart = i + 1;
      lines++;
    } else if (i === lineStart && lines % 97 === 0) {
      body[i] = 46;
    } else {
      const byte = Math.floor(random() * 254);
      body[i] = byte < 10 ? byte : byte < 12 ? byte + 1 : byte + 2;
    }
  }
  // The last line ends with CRLF.
  body[SIZE - 2] = 13;
  body[SIZE - 1] = 10;
  return Buffer.concat([head, body]);
}

/** Adds a dot to every line that starts with one, and the terminator (POP3 and SMTP). */
function dotStuffed(message: Buffer): Buffer {
  const text = message.toString('latin1').replace(/^\./gm, '..');
  return Buffer.from(`${text}.\r\n`, 'latin1');
}

let stack: Stack;
const download = binaryMessage('binary download', 9);

beforeAll(async () => {
  stack = await startStack({ messages: [download] });
});
afterAll(() => stack?.close());

const modes: TlsMode[] = ['none', 'implicit'];

async function open(protocol: 'imap' | 'pop3' | 'smtp', tls: TlsMode): Promise<WireClient> {
  return WireClient.open(stack.port(protocol, tls), { tls: tls === 'implicit', ca: stack.localCa });
}

describe('the pipe after login carries binary messages byte for byte', () => {
  it.each(modes)('IMAP, %s listener: APPEND sends an 8 MiB binary message up, FETCH brings it back', async (tls) => {
    const upload = binaryMessage(`binary upload ${tls}`, tls.length);
    const client = await open('imap', tls);
    await client.line();
    client.send(`a LOGIN ${USER} {${Buffer.byteLength(PASSWORD)}+}\r\n${PASSWORD}\r\n`);
    await client.until(/^a OK/);
    client.send(`b APPEND INBOX {${upload.length}}\r\n`);
    expect(await client.line()).toMatch(/^\+/);
    client.send(upload);
    client.send('\r\n');
    const appended = await client.until(/^b /, 60_000);
    expect(appended.at(-1)).toMatch(/^b OK/);
    const uid = /APPENDUID \d+ (\d+)/.exec(appended.at(-1)!)![1];

    client.send(`c SELECT INBOX\r\nd UID FETCH ${uid} BODY.PEEK[]\r\n`);
    await client.until(/^c OK/);
    const header = await client.line(60_000);
    const size = Number(/\{(\d+)\}$/.exec(header)![1]);
    expect(size).toBe(upload.length);
    expect(sha256(await client.bytes(size, 60_000))).toBe(sha256(upload));
    expect((await client.until(/^d /)).at(-1)).toMatch(/^d OK/);
    client.send('e LOGOUT\r\n');
    await client.ended();
  }, 120_000);

  it.each(modes)('POP3, %s listener: RETR of an 8 MiB binary message, dot-stuffed exactly once', async (tls) => {
    const client = await open('pop3', tls);
    await client.line();
    client.send(`USER ${USER}\r\n`);
    expect(await client.line()).toMatch(/^\+OK/);
    client.send(`PASS ${PASSWORD}\r\n`);
    expect(await client.line()).toMatch(/^\+OK/);
    client.send('RETR 1\r\n');
    expect(await client.line(60_000)).toMatch(/^\+OK/);
    const expected = dotStuffed(download);
    expect(sha256(await client.bytes(expected.length, 60_000))).toBe(sha256(expected));
    client.send('QUIT\r\n');
    expect(await client.line()).toMatch(/^\+OK/);
    await client.ended();
  }, 120_000);

  it.each(modes)('SMTP, %s listener: DATA of an 8 MiB binary message reaches Exchange as sent', async (tls) => {
    const upload = binaryMessage(`binary send ${tls}`, 7 + tls.length);
    const client = await open('smtp', tls);
    await client.line();
    client.send(`EHLO test\r\nAUTH PLAIN ${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}\r\n`);
    await client.until(/^235 /);
    client.send(`MAIL FROM:<${MAILBOX}> BODY=8BITMIME\r\nRCPT TO:<${MAILBOX}>\r\nDATA\r\n`);
    await client.until(/^354 /);
    client.send(dotStuffed(upload));
    expect(await client.line(60_000)).toMatch(/^250 /);
    client.send('QUIT\r\n');
    await client.ended();
    const stored = stack.sandbox.messages(MAILBOX).find((m) => m.includes(`Subject: binary send ${tls}`));
    expect(stored && sha256(stored)).toBe(sha256(upload));
  }, 120_000);
});

// Runs last in this file: whatever the tests above did, nothing may be left behind.
it('leaves no session open and logs nothing at error level', async () => {
  expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
});
