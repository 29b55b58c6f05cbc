import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sha256 } from '../helpers/digest.js';
import { leftovers, curl, PASSWORD, python, sampleMessage, startStack, USER, type Stack } from '../helpers/stack.js';
import { PATIENCE } from '../helpers/wait.js';
import { WireClient } from '../helpers/wire.js';

const messages = [sampleMessage('First'), sampleMessage('Second', '.leading dot\r\nÜmlaut body\r\n')];
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ messages });
});
afterAll(() => stack?.close());

async function loggedOut(port: number): Promise<WireClient> {
  const client = await WireClient.open(port);
  await client.line();
  return client;
}

describe.each(['none', 'starttls', 'implicit'] as const)('IMAP with local TLS "%s", Python imaplib', (tls) => {
  it('logs in with LOGIN and reads every message byte for byte', async () => {
    const seen = await python(stack, { client: 'imap', tls });
    expect(seen.loginError).toBeUndefined();
    expect(seen.exists).toBe(2);
    expect(seen.bodies).toEqual(messages.map(sha256));
    // The tagged OK carried the upstream's post-login capabilities, without the login ones.
    expect(seen.loginResponse[0]).toMatch(/^\[CAPABILITY [^\]]*\bMOVE\b[^\]]*\] LOGIN completed\.$/);
    expect(seen.loginResponse[0]).not.toMatch(/AUTH=|SASL-IR/);
    expect(seen.folders.join('\n')).toMatch(/INBOX/);
  });
});

describe('IMAP with Python imaplib', () => {
  it.each(['PLAIN', 'LOGIN'])('logs in with AUTHENTICATE %s', async (auth) => {
    const seen = await python(stack, { client: 'imap', auth });
    expect(seen.loginError).toBeUndefined();
    expect(seen.bodies).toEqual(messages.map(sha256));
  });

  it('accepts a PLAIN authzid naming the mailbox', async () => {
    const seen = await python(stack, { client: 'imap', auth: 'PLAIN', authzid: 'invoices@contoso.test' });
    expect(seen.loginError).toBeUndefined();
  });

  it('answers a wrong password and an unknown user alike', async () => {
    const wrong = await python(stack, { client: 'imap', password: 'wrong' });
    const unknown = await python(stack, { client: 'imap', user: 'nobody' });
    expect(wrong.loginError).toMatch(/\[AUTHENTICATIONFAILED\] Authentication failed\./);
    expect(unknown.loginError).toBe(wrong.loginError);
    expect(stack.logs.some((l) => l.includes('"reason":"wrong-password"'))).toBe(true);
    expect(stack.logs.some((l) => l.includes('"reason":"unknown-user"'))).toBe(true);
  });

  it('advertises STARTTLS and LOGINDISABLED before TLS on a STARTTLS listener', async () => {
    const client = await WireClient.open(stack.port('imap', 'starttls'));
    const greeting = await client.line();
    expect(greeting).toMatch(/^\* OK \[CAPABILITY [^\]]*STARTTLS[^\]]*LOGINDISABLED[^\]]*\]/);
    client.send(`a LOGIN ${USER} x\r\n`);
    expect(await client.line()).toBe('a NO [PRIVACYREQUIRED] Use STARTTLS first.');
    client.close();
  });
});

describe('IMAP with curl', () => {
  const url = (scheme: string, port: number) => `${scheme}://127.0.0.1:${port}/INBOX;UID=2`;

  it.each([
    ['none', 'imap', []],
    ['starttls', 'imap', ['--ssl-reqd']],
    ['implicit', 'imaps', []],
  ] as const)('fetches a message byte for byte over local TLS "%s"', async (tls, scheme, extra) => {
    const result = await curl([...extra, '--cacert', stack.localCaFile, '--user', `${USER}:${PASSWORD}`, url(scheme, stack.port('imap', tls))]);
    expect(result.stderr).toBe('');
    expect(result.stdout.equals(messages[1]!)).toBe(true);
  });

  it.each(['PLAIN', 'LOGIN'])('logs in with --login-options AUTH=%s', async (mechanism) => {
    const result = await curl(['--login-options', `AUTH=${mechanism}`, '--user', `${USER}:${PASSWORD}`, url('imap', stack.port('imap'))]);
    expect(result.stdout.equals(messages[1]!)).toBe(true);
  });

  it('fails with curl exit code 67 (login denied) for a wrong password', async () => {
    const result = await curl(['--user', `${USER}:nope`, url('imap', stack.port('imap'))]);
    expect(result.code).toBe(67);
  });
});

describe('IMAP conversation before login', () => {
  it('greets with its capabilities and answers CAPABILITY, NOOP, ID and LOGOUT itself', async () => {
    const client = await WireClient.open(stack.port('imap'));
    expect(await client.line()).toBe('* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID AUTH=PLAIN AUTH=LOGIN] o365-mail-proxy IMAP4rev1 ready.');
    client.send('a CAPABILITY\r\nb NOOP\r\nc ID ("name" "talend")\r\nd LOGOUT\r\n');
    expect(await client.until(/^d /)).toEqual([
      '* CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID AUTH=PLAIN AUTH=LOGIN',
      'a OK CAPABILITY completed.',
      'b OK NOOP completed.',
      '* ID ("name" "o365-mail-proxy")',
      'c OK ID completed.',
      '* BYE o365-mail-proxy logging out.',
      'd OK LOGOUT completed.',
    ]);
    await client.ended();
  });

  it('logs in with synchronizing literals holding spaces, quotes and non-ASCII', async () => {
    const client = await loggedOut(stack.port('imap'));
    const password = Buffer.from(PASSWORD);
    client.send(`a LOGIN {${USER.length}}\r\n`);
    expect(await client.line()).toBe('+ Ready for literal data');
    client.send(`${USER} {${password.length}}\r\n`);
    expect(await client.line()).toBe('+ Ready for literal data');
    client.send(Buffer.concat([password, Buffer.from('\r\nb SELECT INBOX\r\n')]));
    // The pipelined SELECT reaches the upstream after login, in order.
    const lines = await client.until(/^b /);
    expect(lines[0]).toMatch(/^a OK \[CAPABILITY .*\] LOGIN completed\.$/);
    expect(lines.at(-1)).toMatch(/^b OK/);
    expect(lines).toContain('* 2 EXISTS');
    client.close();
  });

  it('logs in with a quoted password using escapes and LITERAL+', async () => {
    const client = await loggedOut(stack.port('imap'));
    const quoted = PASSWORD.replaceAll('\\', '\\\\').replaceAll('"', '\\"');
    client.send(`a LOGIN {${USER.length}+}\r\n${USER} "${quoted}"\r\n`);
    expect(await client.line()).toMatch(/^a OK \[CAPABILITY/);
    client.close();
  });

  it('runs AUTHENTICATE PLAIN with a continuation, and "*" cancels', async () => {
    const client = await loggedOut(stack.port('imap'));
    client.send('a AUTHENTICATE PLAIN\r\n');
    expect(await client.line()).toBe('+ ');
    client.send('*\r\n');
    expect(await client.line()).toBe('a BAD AUTHENTICATE cancelled.');
    client.send('b AUTHENTICATE PLAIN\r\n');
    expect(await client.line()).toBe('+ ');
    client.send(`${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}\r\n`);
    expect(await client.line()).toMatch(/^b OK \[CAPABILITY .*\] AUTHENTICATE completed\.$/);
    client.close();
  });

  it('answers malformed and unknown commands with BAD, and SASL garbage too', async () => {
    const client = await loggedOut(stack.port('imap'));
    client.send('a SELECT INBOX\r\nb FROB\r\nc LOGIN onlyuser\r\nd LOGIN "unterminated\r\ne AUTHENTICATE CRAM-MD5\r\nf AUTHENTICATE PLAIN !!!\r\n');
    expect(await client.until(/^f /)).toEqual([
      'a BAD Log in first.',
      'b BAD Unknown command.',
      'c BAD LOGIN expects a username and a password.',
      'd BAD Unterminated quoted string.',
      'e NO [CANNOT] Unsupported authentication mechanism.',
      'f BAD Invalid base64 data.',
    ]);
    client.close();
  });

  it('closes after too many bad commands', async () => {
    const client = await loggedOut(stack.port('imap'));
    client.send('x FROB\r\n'.repeat(10));
    const lines = await client.until(/^\* BYE/);
    expect(lines.at(-1)).toBe('* BYE Too many invalid commands.');
    await client.ended();
  });

  it('ignores commands pipelined behind STARTTLS (no plaintext injection)', async () => {
    const port = stack.port('imap', 'starttls');
    const client = await WireClient.open(port);
    await client.line();
    client.send(`a STARTTLS\r\nb LOGIN ${USER} x\r\n`);
    expect(await client.line()).toBe('a OK Begin TLS negotiation now.');
    const { connect } = await import('node:tls');
    const secure = connect({ socket: client.socket, ca: stack.localCa, servername: 'localhost' });
    await new Promise((resolve) => secure.once('secureConnect', resolve));
    const received: Buffer[] = [];
    secure.on('data', (chunk: Buffer) => received.push(chunk));
    secure.write('c NOOP\r\n');
    // Commands are answered in order: had the injected LOGIN been read, its answer came first.
    await vi.waitFor(() => expect(Buffer.concat(received).toString()).toContain('c OK'), PATIENCE);
    expect(Buffer.concat(received).toString()).toBe('c OK NOOP completed.\r\n');
    secure.destroy();
  });
});

// Runs last in this file: whatever the tests above did, nothing may be left behind.
it('leaves no session open and logs nothing at error level', async () => {
  expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
});
