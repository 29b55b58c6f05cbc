import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../helpers/digest.js';
import { leftovers, curl, PASSWORD, python, sampleMessage, startStack, USER, type Stack } from '../helpers/stack.js';
import { WireClient } from '../helpers/wire.js';

const messages = [sampleMessage('One'), sampleMessage('Two', '.dot first\r\n..two dots\r\n')];
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ messages });
});
afterAll(() => stack?.close());

describe.each(['none', 'starttls', 'implicit'] as const)('POP3 with local TLS "%s", Python poplib', (tls) => {
  it('logs in with USER/PASS and retrieves every message byte for byte', async () => {
    const seen = await python(stack, { client: 'pop3', tls });
    expect(seen.loginError).toBeUndefined();
    expect(seen.loginResponse).toBe('+OK Logged in.');
    expect(seen.count).toBe(2);
    expect(seen.bodies).toEqual(messages.map(sha256));
  });
});

describe('POP3', () => {
  it('logs in with AUTH PLAIN and an initial response', async () => {
    const seen = await python(stack, { client: 'pop3', auth: 'PLAIN' });
    expect(seen.loginResponse).toBe('+OK Logged in.');
    expect(seen.count).toBe(2);
  });

  it.each([
    ['none', 'pop3', []],
    ['starttls', 'pop3', ['--ssl-reqd']],
    ['implicit', 'pop3s', []],
  ] as const)('serves curl over local TLS "%s"', async (tls, scheme, extra) => {
    const result = await curl([...extra, '--cacert', stack.localCaFile, '--user', `${USER}:${PASSWORD}`, `${scheme}://127.0.0.1:${stack.port('pop3', tls)}/2`]);
    expect(result.stderr).toBe('');
    expect(result.stdout.equals(messages[1]!)).toBe(true);
  });

  it.each(['PLAIN', 'LOGIN'])('serves curl with --login-options AUTH=%s', async (mechanism) => {
    const result = await curl(['--login-options', `AUTH=${mechanism}`, '--user', `${USER}:${PASSWORD}`, `pop3://127.0.0.1:${stack.port('pop3')}/1`]);
    expect(result.stdout.equals(messages[0]!)).toBe(true);
  });

  it('accepts a password an older client sends in ISO-8859-1 (as Jakarta Mail does with AUTH LOGIN)', async () => {
    const client = await WireClient.open(stack.port('pop3'));
    await client.line();
    client.send(`AUTH LOGIN ${Buffer.from(USER).toString('base64')}\r\n`);
    expect(await client.line()).toBe(`+ ${Buffer.from('Password:').toString('base64')}`);
    client.send(`${Buffer.from(PASSWORD, 'latin1').toString('base64')}\r\n`);
    expect(await client.line()).toBe('+OK Logged in.');
    client.close();
  });

  it('answers CAPA, AUTH with a continuation, cancel, and errors in the AUTHORIZATION state', async () => {
    const client = await WireClient.open(stack.port('pop3'));
    expect(await client.line()).toBe('+OK o365-mail-proxy POP3 ready.');
    client.send('CAPA\r\n');
    expect(await client.until(/^\.$/)).toEqual(['+OK Capability list follows', 'TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'USER', 'SASL PLAIN LOGIN', 'IMPLEMENTATION o365-mail-proxy', '.']);
    client.send('STAT\r\nAPOP a b\r\nPASS x\r\nAUTH LOGIN\r\n');
    expect(await client.line()).toBe('-ERR Log in first.');
    expect(await client.line()).toBe('-ERR APOP is not supported; use USER/PASS or AUTH.');
    expect(await client.line()).toBe('-ERR Send USER first.');
    expect(await client.line()).toBe(`+ ${Buffer.from('Username:').toString('base64')}`);
    client.send('*\r\n');
    expect(await client.line()).toBe('-ERR Authentication cancelled.');
    client.send(`USER ${USER}\r\nPASS wrong\r\n`);
    expect(await client.line()).toBe('+OK Send the password.');
    expect(await client.line()).toBe('-ERR [AUTH] Authentication failed.');
    client.send('QUIT\r\n');
    expect(await client.line()).toBe('+OK o365-mail-proxy signing off.');
    await client.ended();
  });

  it('refuses USER before STLS on a STARTTLS listener and lists STLS instead', async () => {
    const client = await WireClient.open(stack.port('pop3', 'starttls'));
    await client.line();
    client.send('CAPA\r\nUSER x\r\n');
    const capa = await client.until(/^\.$/);
    expect(capa).toContain('STLS');
    expect(capa).not.toContain('USER');
    expect(await client.line()).toBe('-ERR [AUTH] Use STLS first.');
    client.close();
  });
});

// Runs last in this file: whatever the tests above did, nothing may be left behind.
it('leaves no session open and logs nothing at error level', async () => {
  expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
});
