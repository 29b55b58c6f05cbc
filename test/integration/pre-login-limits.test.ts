import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/config/password-hash.js';
import { Secret } from '../../src/config/secret.js';
import { leftovers, PASSWORD, startStack, USER, type Stack } from '../helpers/stack.js';
import { WireClient } from '../helpers/wire.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** A raw client that ignores the server's FIN (half-open) and can be told to stop reading. */
function rawClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

const closed = (socket: Socket, timeoutMs: number) => new Promise<boolean>((resolve) => {
  if (socket.destroyed) return resolve(true);
  const timer = setTimeout(() => resolve(false), timeoutMs);
  socket.once('close', () => {
    clearTimeout(timer);
    resolve(true);
  });
});

/** Writes `chunk` again and again until the socket closes or `limit` bytes went out; returns bytes sent. */
async function flood(socket: Socket, chunk: Buffer, limit: number): Promise<number> {
  let sent = 0;
  socket.on('error', () => {});
  while (sent < limit && !socket.destroyed) {
    sent += chunk.length;
    if (!socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => { socket.off('drain', done); socket.off('close', done); resolve(); };
        socket.once('drain', done);
        socket.once('close', done);
      });
    }
  }
  return sent;
}

async function stillServes(s: Stack): Promise<void> {
  const client = await WireClient.open(s.port('imap'));
  await client.line();
  client.send(`a LOGIN ${USER} {${Buffer.byteLength(PASSWORD)}+}\r\n${PASSWORD}\r\n`);
  expect(await client.line()).toMatch(/^a OK/);
  client.close();
}

describe('one unauthenticated connection cannot hurt the proxy', () => {
  it('IMAP: a LOGIN chained from endless non-synchronizing literals is cut at the command limit', async () => {
    stack = await startStack();
    const client = await WireClient.open(stack.port('imap'));
    await client.line();
    client.send('a LOGIN {1+}\r\n');
    // 64 MiB of one-byte literals would have grown the proxy's heap until it died.
    const sending = flood(client.socket, Buffer.from('x {1+}\r\n'.repeat(8192)), 64 * 1024 * 1024);
    expect(await client.line()).toBe('* BYE Command too long.');
    await client.ended(5000);
    expect(await sending).toBeLessThan(64 * 1024 * 1024);
    await stillServes(stack);
  });

  for (const [protocol, goodbye] of [['imap', 'a LOGOUT\r\n'], ['pop3', 'QUIT\r\n']] as const) {
    it(`${protocol}: after ${goodbye.trim()} nothing more is read, and a client that ignores the close is cut`, async () => {
      stack = await startStack();
      const socket = await rawClient(stack.port(protocol));
      socket.write(goodbye);
      const started = Date.now();
      // Keeps sending as if it never saw the goodbye, and never closes its side.
      const sent = flood(socket, Buffer.alloc(64 * 1024, 'a NOOP\r\n'), 256 * 1024 * 1024);
      expect(await closed(socket, 6000)).toBe(true);
      expect(Date.now() - started).toBeLessThan(6000);
      // What the kernel buffers took, not the 256 MiB that reading on would have taken in 2 s.
      expect(await sent).toBeLessThan(64 * 1024 * 1024);
      const report = await leftovers(stack);
      expect(report.active).toBe(0);
    });
  }

  for (const [protocol, command, answer] of [['imap', 'a CAPABILITY\r\n', /^\* CAPABILITY /], ['pop3', 'CAPA\r\n', /^\+OK Capability list follows/]] as const) {
    it(`${protocol}: a client that pipelines commands and never reads the answers is not read either`, async () => {
      stack = await startStack();
      const socket = await rawClient(stack.port(protocol));
      socket.pause();
      const commands = Buffer.from(command.repeat(Math.ceil((32 * 1024 * 1024) / command.length)));
      const memory = () => process.memoryUsage().rss;
      const before = memory();
      socket.write(commands);
      let peak = before;
      for (let i = 0; i < 20; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        peak = Math.max(peak, memory());
      }
      // Answering all would take ~10 bytes per byte of commands; the proxy stopped at 64 KiB
      // of unread answers (the 32 MiB of commands themselves are counted once, in this process).
      expect(peak - before).toBeLessThan(96 * 1024 * 1024);
      expect(socket.writableLength).toBeGreaterThan(8 * 1024 * 1024);
      // Once the client reads, the proxy goes on answering in order.
      const reader = WireClient.wrap(socket);
      expect(await reader.line()).toMatch(protocol === 'imap' ? /^\* OK / : /^\+OK /);
      expect(await reader.line()).toMatch(answer);
      socket.destroy();
    });
  }
});

describe('password guessing costs the guesser', () => {
  const login = (client: WireClient, password: string) => client.send(`a LOGIN ${USER} {${Buffer.byteLength(password)}+}\r\n${password}\r\n`);

  it(`IMAP: after clients.maxLoginAttemptsPerConnection failures the connection is closed`, async () => {
    stack = await startStack({ config: { clients: { failedLoginDelayMs: 0 } } });
    const client = await WireClient.open(stack.port('imap'));
    await client.line();
    for (let i = 0; i < 3; i++) login(client, `guess ${i}`);
    expect(await client.until(/^\* BYE/)).toEqual([
      'a NO [AUTHENTICATIONFAILED] Authentication failed.',
      'a NO [AUTHENTICATIONFAILED] Authentication failed.',
      'a NO [AUTHENTICATIONFAILED] Authentication failed.',
      '* BYE Too many failed logins.',
    ]);
    await client.ended(3000);
  });

  it('POP3: after clients.maxLoginAttemptsPerConnection failures the connection is closed', async () => {
    stack = await startStack({ config: { clients: { failedLoginDelayMs: 0, maxLoginAttemptsPerConnection: 2 } } });
    const client = await WireClient.open(stack.port('pop3'));
    await client.line();
    client.send(`USER ${USER}\r\nPASS one\r\nUSER ${USER}\r\nPASS two\r\nUSER ${USER}\r\n`);
    expect(await client.until(/^-ERR \[AUTH\]/)).toEqual(['+OK Send the password.', '-ERR [AUTH] Authentication failed.']);
    expect(await client.until(/^-ERR \[AUTH\]/)).toEqual(['+OK Send the password.', '-ERR [AUTH] Authentication failed.']);
    await client.ended(3000);
  });

  it('SMTP: after clients.maxLoginAttemptsPerConnection failures the connection is closed with 421', async () => {
    stack = await startStack({ config: { clients: { failedLoginDelayMs: 0 } } });
    const client = await WireClient.open(stack.port('smtp'));
    await client.line();
    client.send('EHLO legacy.example\r\n');
    await client.until(/^250 /);
    const plain = (password: string) => Buffer.from(`\0${USER}\0${password}`).toString('base64');
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) {
      client.send(`AUTH PLAIN ${plain(`guess ${i}`)}\r\n`);
      answers.push(await client.line());
    }
    expect(answers).toEqual([
      '535 5.7.8 Authentication credentials invalid',
      '535 5.7.8 Authentication credentials invalid',
      '421 4.7.0 Too many failed logins, closing connection',
    ]);
    await client.ended(3000);
  });

  it('each failed login waits longer than the one before', async () => {
    stack = await startStack({ config: { clients: { failedLoginDelayMs: 400 } } });
    const client = await WireClient.open(stack.port('imap'));
    await client.line();
    const timings: number[] = [];
    for (let i = 0; i < 2; i++) {
      const started = Date.now();
      login(client, `guess ${i}`);
      expect(await client.line()).toMatch(/^a NO /);
      timings.push(Date.now() - started);
    }
    expect(timings[0]).toBeGreaterThanOrEqual(390);
    expect(timings[1]).toBeGreaterThanOrEqual(790);
    client.close();
  });

  it('parallel guesses: only clients.maxFailedLogins of them are checked; the right password sent after them is refused', async () => {
    stack = await startStack({ config: { clients: { failedLoginDelayMs: 0, maxFailedLogins: 5 } } });
    const guess = async (password: string) => {
      const client = await WireClient.open(stack!.port('imap'));
      await client.line();
      login(client, password);
      const answer = await client.line();
      client.close();
      return answer;
    };
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => guess(`guess ${i}`)));
    expect(answers.every((a) => a === 'a NO [AUTHENTICATIONFAILED] Authentication failed.')).toBe(true);
    expect(await guess(PASSWORD)).toMatch(/^a NO /);
    const reasons = stack.logs.map((line) => JSON.parse(line)).filter((e) => e.event === 'auth.fail').map((e) => e.reason);
    expect(reasons.filter((r) => r === 'wrong-password')).toHaveLength(5);
    expect(reasons.filter((r) => r === 'too-many-failures')).toHaveLength(56);
  });

  it('past clients.maxQueuedPasswordChecks the login gets "try later" instead of waiting', async () => {
    stack = await startStack({ config: { clients: { failedLoginDelayMs: 0, maxFailedLogins: 0, maxQueuedPasswordChecks: 4 } } });
    // A slow hash, as in production, so that checks overlap: two run, one waits (a quarter of 4).
    const slow = await hashPassword(new Secret(PASSWORD), { ln: 14, r: 8, p: 1 });
    stack.proxy.reload({ ...stack.proxy.context().config, accounts: new Map([[USER, { ...stack.proxy.context().config.accounts.get(USER)!, passwordHash: slow }]]) });
    const clients = await Promise.all(Array.from({ length: 8 }, () => WireClient.open(stack!.port('imap'))));
    await Promise.all(clients.map((c) => c.line()));
    clients.forEach((c, i) => login(c, `guess ${i}`));
    const answers = await Promise.all(clients.map((c) => c.line()));
    expect(answers.filter((a) => a === 'a NO [UNAVAILABLE] too many logins at once, try again later').length).toBeGreaterThanOrEqual(4);
    expect(answers.filter((a) => a === 'a NO [AUTHENTICATIONFAILED] Authentication failed.').length).toBeGreaterThanOrEqual(3);
    for (const c of clients) c.close();
  });

  it('an unknown username (perhaps a password in the wrong field) is logged only as its length and a hash', async () => {
    stack = await startStack({ config: { clients: { failedLoginDelayMs: 0 } } });
    const client = await WireClient.open(stack.port('imap'));
    await client.line();
    client.send('a LOGIN "Pa55word-In-User-Field" x\r\n');
    expect(await client.line()).toMatch(/^a NO /);
    login(client, 'wrong');
    expect(await client.line()).toMatch(/^a NO /);
    client.close();
    const failures = stack.logs.map((line) => JSON.parse(line)).filter((e) => e.event === 'auth.fail');
    expect(stack.logs.join('\n')).not.toContain('Pa55word-In-User-Field');
    expect(failures[0]).toMatchObject({ reason: 'unknown-user', unknownUser: { length: 22, hash: expect.stringMatching(/^[\w-]{10}$/) } });
    expect(failures[0].user).toBeUndefined();
    expect(failures[1]).toMatchObject({ reason: 'wrong-password', user: USER });
  });
});
