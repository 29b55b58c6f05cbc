import { afterEach, describe, expect, it, vi } from 'vitest';
import { leftovers, PASSWORD, python, startStack, USER, type Stack } from '../helpers/stack.js';
import { PATIENCE } from '../helpers/wait.js';
import { WireClient } from '../helpers/wire.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function imapLoggedIn(s: Stack): Promise<WireClient> {
  const client = await WireClient.open(s.port('imap'));
  await client.line();
  client.send(`a LOGIN ${USER} {${Buffer.byteLength(PASSWORD)}+}\r\n${PASSWORD}\r\n`);
  expect(await client.line()).toMatch(/^a OK/);
  return client;
}

describe('session lifecycle', () => {
  it('closes the client when the upstream drops mid-session, and logs the totals', async () => {
    stack = await startStack();
    const client = await imapLoggedIn(stack);
    client.send('b SELECT INBOX\r\n');
    await client.until(/^b OK/);
    stack.sandbox.dropConnections();
    await client.ended();
    const close = await vi.waitFor(() => {
      const line = stack!.logs.map((l) => JSON.parse(l)).find((l) => l.event === 'close' && l.loggedIn);
      if (!line) throw new Error('no close line yet');
      return line;
    }, PATIENCE);
    expect(close).toMatchObject({ proto: 'imap', bytesFromClient: expect.any(Number), bytesToClient: expect.any(Number) });
    expect(close.bytesToClient).toBeGreaterThan(0);
    expect(stack.proxy.activeSessions()).toBe(0);
  });

  it('says goodbye to a client that stays silent before login, on every protocol, but never cuts a piped session', async () => {
    stack = await startStack({ config: { clients: { idleTimeoutMs: 1000 } } });
    const loggedIn = await imapLoggedIn(stack);

    const imap = await WireClient.open(stack.port('imap'));
    await imap.line();
    const midSasl = await WireClient.open(stack.port('imap'));
    await midSasl.line();
    midSasl.send('a AUTHENTICATE PLAIN\r\n');
    expect(await midSasl.line()).toBe('+ ');
    const pop3 = await WireClient.open(stack.port('pop3'));
    await pop3.line();
    const smtp = await WireClient.open(stack.port('smtp'));
    await smtp.line();

    expect(await imap.line()).toBe('* BYE Disconnected for inactivity.');
    expect(await midSasl.line()).toBe('* BYE Disconnected for inactivity.');
    expect(await pop3.line()).toBe('-ERR Disconnected for inactivity.');
    expect(await smtp.line()).toMatch(/^421 .*Timeout/);
    await Promise.all([imap.ended(), midSasl.ended(), pop3.ended(), smtp.ended()]);
    const idle = stack.logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'close' && l.reason === 'idle');
    expect(idle.map((l) => l.proto).sort()).toEqual(['imap', 'imap', 'pop3']);

    // The logged-in session has been silent for as long, and is still served.
    loggedIn.send('b NOOP\r\n');
    expect(await loggedIn.line()).toMatch(/^b OK/);
    loggedIn.close();
  });

  it('ends a session at once when the client leaves right after STARTTLS/STLS, before its TLS hello', async () => {
    // Found by the garbage test: such sessions waited for the 15 s handshake timeout.
    stack = await startStack();
    const imap = await WireClient.open(stack.port('imap', 'starttls'));
    await imap.line();
    imap.send('a STARTTLS\r\n');
    expect(await imap.line()).toMatch(/^a OK/);
    const pop3 = await WireClient.open(stack.port('pop3', 'starttls'));
    await pop3.line();
    pop3.send('STLS\r\n');
    expect(await pop3.line()).toMatch(/^\+OK/);
    imap.close();
    pop3.close();
    expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
    const closes = stack.logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'close');
    expect(closes.map((l) => [l.proto, l.reason]).sort()).toEqual([['imap', 'TLS handshake failed'], ['pop3', 'TLS handshake failed']]);
  });

  it('ends a piped session when the client leaves without waiting for the last answers', async () => {
    // Found by the garbage-upstream test: the upstream, unpiped and paused once the client was
    // gone, never read the server's own close, and the session stayed open for good.
    stack = await startStack({ messages: [Buffer.from(`Subject: big\r\n\r\n${'x'.repeat(4 * 1024 * 1024)}\r\n`)] });
    for (const protocol of ['imap', 'pop3'] as const) {
      const client = await WireClient.open(stack.port(protocol));
      await client.line();
      client.send(protocol === 'imap' ? `a LOGIN ${USER} {${Buffer.byteLength(PASSWORD)}+}\r\n${PASSWORD}\r\n` : `USER ${USER}\r\nPASS ${PASSWORD}\r\n`);
      await client.until(protocol === 'imap' ? /^a OK/ : /^\+OK Logged in/);
      // Ask for 4 MiB, say goodbye, and leave at once, as a job that does not wait would.
      client.send(protocol === 'imap' ? 'b SELECT INBOX\r\nc FETCH 1 BODY[]\r\nd LOGOUT\r\n' : 'RETR 1\r\nQUIT\r\n');
      client.socket.end();
    }
    expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
  });

  it('closes the upstream when the client goes away', async () => {
    stack = await startStack();
    const leaving = await imapLoggedIn(stack);
    const resetting = await imapLoggedIn(stack);
    expect(stack.sandbox.openConnections()).toBe(2);
    leaving.close();
    resetting.socket.resetAndDestroy();
    // Exchange's side (the sandbox) sees both connections end, and the proxy holds no session.
    await vi.waitFor(() => expect(stack!.sandbox.openConnections()).toBe(0), PATIENCE);
    expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
  });

  it('SMTP opens a new upstream session when the old one was dropped between messages', async () => {
    stack = await startStack();
    stack.sandbox.addMailbox('ap@contoso.test');
    const client = await WireClient.open(stack.port('smtp'));
    await client.line();
    client.send('EHLO test\r\n');
    await client.until(/^250 /);
    client.send(`AUTH PLAIN ${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}\r\n`);
    expect(await client.line()).toMatch(/^235 /);
    stack.sandbox.dropConnections();
    await new Promise((resolve) => setTimeout(resolve, 100));
    client.send('MAIL FROM:<invoices@contoso.test>\r\n');
    expect(await client.line()).toMatch(/^250 /);
    client.send('RCPT TO:<ap@contoso.test>\r\n');
    expect(await client.line()).toMatch(/^250 /);
    client.send('DATA\r\n');
    expect(await client.line()).toMatch(/^354 /);
    client.send('Subject: after reconnect\r\n\r\nhi\r\n.\r\n');
    expect(await client.line()).toMatch(/^250 2\.6\.0 /);
    expect(stack.sandbox.messages('ap@contoso.test').map(String)).toContain('Subject: after reconnect\r\n\r\nhi\r\n');
    client.close();
  });

  it('SMTP: an upstream lost in the middle of a transaction gives 421, and the client is disconnected', async () => {
    stack = await startStack();
    stack.sandbox.addMailbox('ap@contoso.test');
    const client = await WireClient.open(stack.port('smtp'));
    await client.line();
    client.send(`EHLO test\r\nAUTH PLAIN ${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}\r\n`);
    await client.until(/^235 /);
    client.send('MAIL FROM:<invoices@contoso.test>\r\n');
    expect(await client.line()).toMatch(/^250 /);
    stack.sandbox.dropConnections();
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The transaction cannot move to a new upstream session: the client must start over.
    client.send('RCPT TO:<ap@contoso.test>\r\n');
    expect(await client.line()).toBe('421 4.4.2 Connection to the mail server was lost, try again');
    await client.ended();
    expect(stack.sandbox.messages('ap@contoso.test')).toEqual([]);
  });

  it('SMTP: a client that leaves in the middle of DATA gets no half message delivered', async () => {
    stack = await startStack();
    stack.sandbox.addMailbox('ap@contoso.test');
    for (const leave of ['destroy', 'end'] as const) {
      const client = await WireClient.open(stack.port('smtp'));
      await client.line();
      client.send(`EHLO test\r\nAUTH PLAIN ${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}\r\n`);
      await client.until(/^235 /);
      client.send('MAIL FROM:<invoices@contoso.test>\r\nRCPT TO:<ap@contoso.test>\r\nDATA\r\n');
      await client.until(/^354 /);
      client.send(`Subject: cut short\r\n\r\n${'half a message\r\n'.repeat(20_000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (leave === 'destroy') client.close();
      else client.socket.end();
      await client.ended().catch(() => undefined);
    }
    expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
    // Once Exchange's side has seen every connection end, it has taken whatever it was sent.
    await vi.waitFor(() => expect(stack!.sandbox.openConnections()).toBe(0), PATIENCE);
    expect(stack.sandbox.messages('ap@contoso.test')).toEqual([]);
  });

  // Renewal once less than tokens.minRemainingSeconds is left: test/unit/token-provider.test.ts.
  it('serves new sessions with the token it has while that is fresh', async () => {
    stack = await startStack();
    expect((await python(stack, { client: 'pop3' })).loginError).toBeUndefined();
    expect((await python(stack, { client: 'pop3' })).loginError).toBeUndefined();
    expect(stack.sandbox.stats.tokenRequests).toBe(1);
  });

  it('passes Exchange\'s token-expiry BYE to the client', async () => {
    stack = await startStack({ sandbox: { tokenLifetimeSeconds: 2 }, config: { tokens: { minRemainingSeconds: 1 } } });
    const client = await imapLoggedIn(stack);
    const lines = await client.until(/^\* BYE/, 15_000);
    expect(lines.at(-1)).toBe('* BYE Session invalidated - AccessTokenExpired');
    await client.ended();
  }, 20_000);
});
