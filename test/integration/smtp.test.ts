import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { leftovers, curl, MAILBOX, PASSWORD, python, startStack, USER, type Stack } from '../helpers/stack.js';
import { PATIENCE } from '../helpers/wait.js';
import { WireClient } from '../helpers/wire.js';

let stack: Stack;
const OTHER = 'ap@contoso.test';

beforeAll(async () => {
  stack = await startStack();
  stack.sandbox.addMailbox(OTHER);
});
afterAll(() => stack?.close());

const message = (subject: string) => `From: ${MAILBOX}\r\nTo: ${OTHER}\r\nSubject: ${subject}\r\n\r\n.line starting with a dot\r\nbody\r\n`;
const delivered = () => stack.sandbox.messages(OTHER).map((m) => m.toString());

describe.each(['none', 'starttls', 'implicit'] as const)('SMTP with local TLS "%s", Python smtplib', (tls) => {
  it.each(['PLAIN', 'LOGIN'])('authenticates with AUTH %s and delivers through Exchange', async (auth) => {
    const subject = `smtplib ${tls} ${auth}`;
    const seen = await python(stack, { client: 'smtp', tls, auth, messages: [{ from: MAILBOX, to: [OTHER], text: message(subject) }] });
    expect(seen.loginError).toBeUndefined();
    expect(seen.sent).toEqual([{ ok: true, refused: {} }]);
    expect(delivered()).toContain(message(subject));
  });
});

describe('SMTP', () => {
  it('sends several messages in one session, and AUTH LOGIN in two steps', async () => {
    const seen = await python(stack, {
      client: 'smtp', auth: 'LOGIN', initialResponse: false,
      messages: [1, 2, 3].map((n) => ({ from: MAILBOX, to: [OTHER], text: message(`batch ${n}`) })),
    });
    expect(seen.sent).toHaveLength(3);
    expect(seen.sent.every((s: { ok: boolean }) => s.ok)).toBe(true);
    for (const n of [1, 2, 3]) expect(delivered()).toContain(message(`batch ${n}`));
  });

  it('passes on Exchange\'s verdict for each recipient and never says 250 for a refused one', async () => {
    const seen = await python(stack, {
      client: 'smtp', auth: 'PLAIN',
      messages: [
        { from: MAILBOX, to: [OTHER, 'ghost@contoso.test'], text: message('partial') },
        { from: MAILBOX, to: ['ghost@contoso.test'], text: message('nobody') },
        { from: 'ceo@contoso.test', to: [OTHER], text: message('spoofed') },
      ],
    });
    expect(seen.sent[0]).toEqual({ ok: true, refused: { 'ghost@contoso.test': [550, expect.stringMatching(/^5\.1\.10 RESOLVER\.ADR\.RecipientNotFound/)] } });
    expect(seen.sent[1]).toMatchObject({ ok: false, recipientsRefused: { 'ghost@contoso.test': [550, expect.stringMatching(/RecipientNotFound/)] } });
    // Exchange refuses a foreign sender at RCPT or DATA time; either way the client hears 550 5.7.60.
    expect(seen.sent[2].ok).toBe(false);
    expect(JSON.stringify(seen.sent[2])).toMatch(/550.*5\.7\.60/);
    expect(delivered()).toContain(message('partial'));
    expect(delivered()).not.toContain(message('spoofed'));
  });

  it('refuses MAIL before AUTH locally with 530 5.7.0', async () => {
    const client = await WireClient.open(stack.port('smtp'));
    expect(await client.line()).toMatch(/^220 /);
    client.send('EHLO test\r\n');
    const ehlo = await client.until(/^250 /);
    expect(ehlo.join('\n')).toMatch(/AUTH PLAIN LOGIN/);
    client.send(`MAIL FROM:<${MAILBOX}>\r\n`);
    expect(await client.line()).toBe('530 5.7.0 Authentication required');
    client.send('QUIT\r\n');
    client.close();
  });

  it('answers a wrong password with 535 5.7.8', async () => {
    const seen = await python(stack, { client: 'smtp', auth: 'PLAIN', password: 'wrong' });
    expect(seen.loginError).toEqual([535, '5.7.8 Authentication credentials invalid']);
  });

  it('refuses a Latin-1 password (old javax.mail) and the log says why, since smtp-server has already lost the bytes', async () => {
    const client = await WireClient.open(stack.port('smtp'));
    await client.line();
    client.send('EHLO test\r\n');
    await client.until(/^250 /);
    client.send(`AUTH LOGIN ${Buffer.from(USER).toString('base64')}\r\n`);
    expect(await client.line()).toMatch(/^334 /);
    client.send(`${Buffer.from(PASSWORD, 'latin1').toString('base64')}\r\n`);
    expect(await client.line()).toBe('535 5.7.8 Authentication credentials invalid');
    client.send('QUIT\r\n');
    client.close();
    const failure = stack.logs.map((line) => JSON.parse(line)).find((entry) => entry.event === 'auth.fail' && entry.reason === 'not-utf8');
    expect(failure?.hint).toMatch(/not UTF-8 .* ASCII-only password/);
  });

  it('logs the bytes each way when a session closes, counted on the client connection', async () => {
    const closeLog = (localPort: number) => vi.waitFor(() => {
      const found = stack.logs.map((line) => JSON.parse(line)).find((entry) => entry.event === 'close' && entry.client === `127.0.0.1:${localPort}`);
      if (!found) throw new Error(`no close line for port ${localPort}`);
      return found;
    }, PATIENCE);
    const client = await WireClient.open(stack.port('smtp'));
    const clientPort = client.socket.localPort!;
    await client.line();
    client.send(`EHLO test\r\nAUTH PLAIN ${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}\r\n`);
    await client.until(/^235 /);
    client.send(`MAIL FROM:<${MAILBOX}>\r\nRCPT TO:<${OTHER}>\r\nDATA\r\n`);
    await client.until(/^354 /);
    client.send(`${message('counted')}.\r\nQUIT\r\n`);
    await client.ended();
    expect(await closeLog(clientPort)).toMatchObject({
      proto: 'smtp', loggedIn: true, messages: 1,
      bytesFromClient: client.socket.bytesWritten, bytesToClient: client.socket.bytesRead, durationMs: expect.any(Number),
    });

    // Over implicit TLS the counts are those of the encrypted connection: more than the message.
    const tls = await WireClient.open(stack.port('smtp', 'implicit'), { tls: true, ca: stack.localCa });
    const tlsPort = tls.socket.localPort!;
    await tls.line();
    tls.send('QUIT\r\n');
    await tls.ended();
    const encrypted = await closeLog(tlsPort);
    expect(encrypted.bytesFromClient).toBeGreaterThan('QUIT\r\n'.length + 200);
    expect(encrypted.bytesToClient).toBeGreaterThan(1000);
  });

  it('requires STARTTLS before AUTH on a STARTTLS listener', async () => {
    const client = await WireClient.open(stack.port('smtp', 'starttls'));
    await client.line();
    client.send('EHLO test\r\n');
    expect((await client.until(/^250 /)).join('\n')).toMatch(/STARTTLS/);
    client.send(`AUTH PLAIN ${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}\r\n`);
    expect(await client.line()).toMatch(/^538 /);
    client.close();
  });

  it('delivers with curl over every local TLS mode', async () => {
    for (const [tls, scheme, extra] of [['none', 'smtp', []], ['starttls', 'smtp', ['--ssl-reqd']], ['implicit', 'smtps', []]] as const) {
      const subject = `curl ${tls}`;
      const result = await curl([...extra, '--cacert', stack.localCaFile, '--user', `${USER}:${PASSWORD}`, '--mail-from', MAILBOX, '--mail-rcpt', OTHER, '--upload-file', '-', `${scheme}://127.0.0.1:${stack.port('smtp', tls)}`], Buffer.from(message(subject)));
      expect(result.stderr).toBe('');
      expect(delivered()).toContain(message(subject));
    }
  });
});

// Runs last in this file: whatever the tests above did, nothing may be left behind.
it('leaves no session open and logs nothing at error level', async () => {
  expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
});
