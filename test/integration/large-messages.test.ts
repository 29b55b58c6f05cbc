import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../helpers/digest.js';
import { leftovers, MAILBOX, python, startStack, type Stack } from '../helpers/stack.js';

/** A 24 MiB message: base64 lines like a real attachment, CRLF line ends, some lines starting with ".". */
function largeMessage(subject: string): Buffer {
  const lines = randomBytes(18 * 1024 * 1024).toString('base64').match(/.{1,76}/g)!;
  for (let i = 0; i < lines.length; i += 1000) lines[i] = `.${lines[i]}`;
  return Buffer.from(`From: ${MAILBOX}\r\nTo: ${MAILBOX}\r\nSubject: ${subject}\r\n\r\n${lines.join('\r\n')}\r\n`);
}

let stack: Stack;
const big = largeMessage('big download');

beforeAll(async () => {
  stack = await startStack({ messages: [big] });
});
afterAll(() => stack?.close());

describe('large messages arrive byte for byte', () => {
  it('IMAP FETCH of a 24 MiB message', async () => {
    const seen = await python(stack, { client: 'imap', tls: 'implicit' });
    expect(seen.bodies).toEqual([sha256(big)]);
  }, 120_000);

  it('POP3 RETR of a 24 MiB message', async () => {
    const seen = await python(stack, { client: 'pop3', tls: 'implicit' });
    expect(seen.bodies).toEqual([sha256(big)]);
  }, 120_000);

  it('SMTP DATA of a 24 MiB message', async () => {
    const upload = largeMessage('big upload');
    const seen = await python(stack, { client: 'smtp', tls: 'starttls', auth: 'PLAIN', messages: [{ from: MAILBOX, to: [MAILBOX], raw: upload.toString('base64') }] });
    expect(seen.sent).toEqual([{ ok: true, refused: {} }]);
    const stored = stack.sandbox.messages(MAILBOX).find((m) => m.includes('Subject: big upload'));
    expect(stored && sha256(stored)).toBe(sha256(upload));
  }, 120_000);
});

// Runs last in this file: whatever the tests above did, nothing may be left behind.
it('leaves no session open and logs nothing at error level', async () => {
  expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
});
