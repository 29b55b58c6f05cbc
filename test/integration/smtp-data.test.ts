import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, leftovers, MAILBOX, PASSWORD, startStack, USER, type Stack } from '../helpers/stack.js';
import { WireClient } from '../helpers/wire.js';

// What Exchange stores is what the client meant: RFC 5321 4.5.2 transparency undone exactly
// once, at the start of lines that CRLF started, whatever bare CRs and LFs the data holds.

let stack: Stack;
const OTHER = 'ap@contoso.test';

beforeAll(async () => {
  stack = await startStack();
  stack.sandbox.addMailbox(OTHER);
});
afterAll(() => stack?.close());

/** A logged-in SMTP session on the plain listener, in a transaction for OTHER. */
async function inTransaction(): Promise<WireClient> {
  const client = await WireClient.open(stack.port('smtp'));
  await client.line();
  client.send(`EHLO test\r\nAUTH PLAIN ${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}\r\n`);
  await client.until(/^235 /);
  client.send(`MAIL FROM:<${MAILBOX}>\r\nRCPT TO:<${OTHER}>\r\nDATA\r\n`);
  await client.until(/^354 /);
  return client;
}

/** Sends `wire` (the bytes after the 354, terminator included) and returns what the sandbox stored. */
async function stored(wire: Buffer): Promise<Buffer> {
  const before = stack.sandbox.messages(OTHER).length;
  const client = await inTransaction();
  client.send(wire);
  expect(await client.line()).toMatch(/^250 /);
  client.send('QUIT\r\n');
  await client.ended();
  const after = stack.sandbox.messages(OTHER);
  expect(after).toHaveLength(before + 1);
  return after.at(-1)!;
}

const latin1 = (text: string) => Buffer.from(text, 'latin1');
const head = `From: ${MAILBOX}\r\nTo: ${OTHER}\r\nSubject: fidelity\r\n\r\n`;

describe('SMTP DATA arrives at Exchange byte for byte', () => {
  it.each([
    ['".." after a bare LF keeps both dots', `${head}bare\n..\r\n`],
    ['".." after a bare LF, mid-line text following', `${head}a\n..b\nc\r\n`],
    ['"\\n.\\n", "\\r.\\r\\n" and "\\n.\\r\\n" stay message data', `${head}one\n.\ntwo\r.\r\nthree\n.\r\nfour\r\n`],
  ])('%s', async (_name, message) => {
    expect((await stored(latin1(`${message}.\r\n`))).toString('latin1')).toBe(message);
  });

  it('".." after CRLF is one dot, as the client stuffed it', async () => {
    expect((await stored(latin1(`${head}..\r\n...x\r\n.\r\n`))).toString('latin1')).toBe(`${head}.\r\n..x\r\n`);
  });

  it('an empty message stays empty', async () => {
    expect(await stored(latin1('.\r\n'))).toEqual(Buffer.alloc(0));
  });

  it('8-bit content, NULs and every byte value arrive untouched', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i).filter((i) => i !== 0x0a && i !== 0x0d));
    const message = Buffer.concat([latin1(head), bytes, latin1('\r\n'), Buffer.from('Grüße, 日本\r\n', 'utf8')]);
    expect(await stored(Buffer.concat([message, latin1('.\r\n')]))).toEqual(message);
  });

  it('a message sent without a final CRLF gets exactly one (curl)', async () => {
    const message = `${head}no line end at the end`;
    const result = await curl(['--user', `${USER}:${PASSWORD}`, '--mail-from', MAILBOX, '--mail-rcpt', OTHER, '--upload-file', '-', `smtp://127.0.0.1:${stack.port('smtp')}`], latin1(message));
    expect(result.stderr).toBe('');
    expect(stack.sandbox.messages(OTHER).at(-1)!.toString('latin1')).toBe(`${message}\r\n`);
  });

  it('a terminator split across packets, with commands pipelined behind it', async () => {
    const client = await inTransaction();
    const before = stack.sandbox.messages(OTHER).length;
    for (const piece of [`${head}x\r`, '\n.', '\r', `\nMAIL FROM:<${MAILBOX}>\r\nRCPT TO:<${OTHER}>\r\nDATA\r\n`]) {
      client.send(piece);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    expect(await client.until(/^354 /)).toEqual([expect.stringMatching(/^250 /), expect.stringMatching(/^250 /), expect.stringMatching(/^250 /), expect.stringMatching(/^354 /)]);
    client.send('..\r\n.\r\nQUIT\r\n');
    expect(await client.line()).toMatch(/^250 /);
    await client.ended();
    expect(stack.sandbox.messages(OTHER).slice(before).map((m) => m.toString('latin1'))).toEqual([`${head}x\r\n`, '.\r\n']);
  });
});

it('leaves no session open and logs nothing at error level', async () => {
  expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
});
