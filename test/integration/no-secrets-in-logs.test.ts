import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, MAILBOX, PASSWORD, python, startStack, USER, type Stack } from '../helpers/stack.js';
import { WireClient } from '../helpers/wire.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ logLevel: 'trace' });
});
afterAll(() => stack?.close());

describe('logs at the most verbose level', () => {
  it('hold no password, client secret, token or SASL payload, for any protocol or outcome', async () => {
    // Every protocol, every mechanism, success and failure.
    await python(stack, { client: 'imap' });
    await python(stack, { client: 'imap', auth: 'PLAIN' });
    await python(stack, { client: 'imap', auth: 'LOGIN', password: `${PASSWORD}-wrong` });
    await python(stack, { client: 'pop3' });
    await python(stack, { client: 'pop3', auth: 'PLAIN' });
    await python(stack, { client: 'smtp', auth: 'PLAIN', messages: [{ from: MAILBOX, to: [MAILBOX], text: 'Subject: x\r\n\r\ny\r\n' }] });
    await python(stack, { client: 'smtp', auth: 'LOGIN', password: 'wrong-password-123' });
    await curl(['--user', `${USER}:${PASSWORD}`, `pop3://127.0.0.1:${stack.port('pop3')}/1`]);
    const garbage = await WireClient.open(stack.port('imap'));
    await garbage.line();
    garbage.send(`a LOGIN ${USER} "${PASSWORD.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}\r\n`);
    await garbage.line();
    garbage.close();

    const logs = stack.logs.join('\n');
    expect(stack.logs.length).toBeGreaterThan(20);
    const token = logs.match(/eyJ[\w-]{10,}\.[\w-]{10,}/);
    expect(token).toBeNull();
    const forbidden = [
      PASSWORD, PASSWORD.trim(), JSON.stringify(PASSWORD).slice(1, -1), 'wrong-password-123',
      stack.app.clientSecret!,
      Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64'),
      Buffer.from(PASSWORD).toString('base64'),
      'auth=Bearer',
      // The start of the XOAUTH2 initial response, as it would appear base64-encoded.
      Buffer.from(`user=${MAILBOX}\x01auth=Bearer `).toString('base64').slice(0, 24),
    ];
    for (const secret of forbidden) expect(logs, `log contains ${JSON.stringify(secret)}`).not.toContain(secret);
  }, 60_000);
});
