/**
 * A measuring client of `npm run bench`, one process per measurement, so that it competes
 * with the proxy and the upstream for the CPU as a real client would:
 *
 *   node client.js '<task JSON>'   → one JSON line with what it measured
 *
 * The same code talks to the proxy (basic login) and straight to the upstream (XOAUTH2, and
 * STARTTLS for SMTP), so "direct" and "proxied" differ only in the hop being measured.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, type SecureContext } from 'node:tls';
import { readFileSync } from 'node:fs';
import { Reader } from './reader.js';
import { benchMessage } from './message.js';

export interface Target {
  port: number;
  /** TLS from the first byte. (Straight to the upstream, SMTP starts in clear and uses STARTTLS.) */
  tls: boolean;
  /** `proxy`: basic credentials to the proxy; `direct`: XOAUTH2 straight to the upstream. */
  via: 'proxy' | 'direct';
}

export type Task =
  | { kind: 'fetch' | 'retr'; target: Target }
  | { kind: 'data'; target: Target; bytes: number }
  | { kind: 'noop' | 'login' | 'burst'; target: Target; count: number }
  | { kind: 'hold'; target: Target; count: number; concurrency: number };

export interface Setup {
  caFile: string;
  username: string;
  password: string;
  mailbox: string;
}

interface Connection {
  socket: Socket;
  reader: Reader;
}

let setup: Setup;
/**
 * One context for every connection, as the proxy's connector has: a `ca` passed to each
 * tls.connect builds a context per connection, and the direct figures would measure that.
 */
let secureContext: SecureContext;
/** TLS session to resume, as the proxy's connector does: direct logins get the same help. */
let session: Buffer | undefined;

function open(port: number, tls: boolean): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket: Socket = tls
      ? tlsConnect({ host: '127.0.0.1', port, secureContext, servername: 'localhost', session }, () => resolve({ socket, reader: new Reader(socket) }))
      : tcpConnect({ host: '127.0.0.1', port }, () => resolve({ socket, reader: new Reader(socket) }));
    if (tls) socket.on('session', (ticket: Buffer) => (session = ticket));
    socket.setNoDelay(true);
    socket.once('error', reject);
  });
}

function xoauth2(): string {
  return Buffer.from(`user=${setup.mailbox}\x01auth=Bearer bench-token\x01\x01`).toString('base64');
}

async function expect(reader: Reader, pattern: RegExp, what: string): Promise<string> {
  const line = await reader.line();
  if (!pattern.test(line)) throw new Error(`${what}: unexpected answer ${JSON.stringify(line.slice(0, 200))}`);
  return line;
}

async function imapLogin(target: Target): Promise<Connection> {
  const conn = await open(target.port, target.tls);
  await expect(conn.reader, /^\* OK/, 'IMAP greeting');
  conn.socket.write(target.via === 'proxy' ? `a LOGIN ${setup.username} ${setup.password}\r\n` : `a AUTHENTICATE XOAUTH2 ${xoauth2()}\r\n`);
  const answer = await conn.reader.until(/^a /);
  if (!/^a OK/.test(answer)) throw new Error(`IMAP login: ${answer}`);
  return conn;
}

async function pop3Login(target: Target): Promise<Connection> {
  const conn = await open(target.port, target.tls);
  await expect(conn.reader, /^\+OK/, 'POP3 greeting');
  if (target.via === 'proxy') {
    conn.socket.write(`USER ${setup.username}\r\n`);
    await expect(conn.reader, /^\+OK/, 'USER');
    conn.socket.write(`PASS ${setup.password}\r\n`);
  } else {
    conn.socket.write(`AUTH XOAUTH2 ${xoauth2()}\r\n`);
  }
  await expect(conn.reader, /^\+OK/, 'POP3 login');
  return conn;
}

async function smtpLogin(target: Target): Promise<Connection> {
  let conn = await open(target.port, target.tls);
  await expect(conn.reader, /^220 /, 'SMTP greeting');
  conn.socket.write('EHLO bench\r\n');
  await conn.reader.until(/^250 /);
  if (target.via === 'direct') {
    conn.socket.write('STARTTLS\r\n');
    await expect(conn.reader, /^220 /, 'STARTTLS');
    const secure = tlsConnect({ socket: conn.socket, secureContext, servername: 'localhost' });
    await new Promise((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    conn = { socket: secure, reader: new Reader(secure) };
    conn.socket.write('EHLO bench\r\n');
    await conn.reader.until(/^250 /);
    conn.socket.write(`AUTH XOAUTH2 ${xoauth2()}\r\n`);
  } else {
    conn.socket.write(`AUTH PLAIN ${Buffer.from(`\0${setup.username}\0${setup.password}`).toString('base64')}\r\n`);
  }
  await expect(conn.reader, /^235 /, 'SMTP AUTH');
  return conn;
}

const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;

/** One IMAP FETCH of the upstream's message, timed from the command to its tagged OK. */
async function fetch(target: Target): Promise<{ bytes: number; seconds: number }> {
  const { socket, reader } = await imapLogin(target);
  socket.write('b SELECT INBOX\r\n');
  await reader.until(/^b OK/);
  const started = process.hrtime.bigint();
  socket.write('c FETCH 1 BODY[]\r\n');
  const header = await reader.until(/^\* 1 FETCH/);
  const bytes = Number(/\{(\d+)\}$/.exec(header)?.[1]);
  await reader.skip(bytes);
  await expect(reader, /^\)$/, 'end of FETCH');
  await expect(reader, /^c OK/, 'FETCH');
  const elapsed = seconds(started);
  socket.destroy();
  return { bytes, seconds: elapsed };
}

/** One POP3 RETR, timed from the command to the terminating dot. */
async function retr(target: Target): Promise<{ bytes: number; seconds: number }> {
  const { socket, reader } = await pop3Login(target);
  const started = process.hrtime.bigint();
  socket.write('RETR 1\r\n');
  await expect(reader, /^\+OK/, 'RETR');
  // What was dropped, less the terminator's ".\r\n" (its CRLF ends the message's last line).
  const bytes = (await reader.skipToEnding(Buffer.from('\r\n.\r\n'), Buffer.from('\r\n'))) - 3;
  const elapsed = seconds(started);
  socket.destroy();
  return { bytes, seconds: elapsed };
}

/** One SMTP DATA of `bytes`, timed from the first message byte to the server's 250. */
async function data(target: Target, bytes: number): Promise<{ bytes: number; seconds: number }> {
  const message = Buffer.concat([benchMessage(bytes), Buffer.from('.\r\n')]);
  const { socket, reader } = await smtpLogin(target);
  socket.write(`MAIL FROM:<${setup.mailbox}>\r\n`);
  await expect(reader, /^250 /, 'MAIL');
  socket.write(`RCPT TO:<${setup.mailbox}>\r\n`);
  await expect(reader, /^250 /, 'RCPT');
  socket.write('DATA\r\n');
  await expect(reader, /^354 /, 'DATA');
  const started = process.hrtime.bigint();
  socket.write(message);
  await expect(reader, /^250 /, 'end of DATA');
  const elapsed = seconds(started);
  socket.destroy();
  return { bytes, seconds: elapsed };
}

/** `count` NOOPs one after the other on one IMAP session; each round trip in µs. */
async function noop(target: Target, count: number): Promise<{ micros: number[] }> {
  const { socket, reader } = await imapLogin(target);
  const micros: number[] = [];
  for (let i = -50; i < count; i++) {
    const started = process.hrtime.bigint();
    socket.write(`n${i} NOOP\r\n`);
    await reader.until(/^n-?\d+ OK/);
    // The first 50 warm up (JIT, TLS buffers) and are not counted.
    if (i >= 0) micros.push(seconds(started) * 1e6);
  }
  socket.destroy();
  return { micros };
}

/** `count` IMAP logins one after the other, each from connect to the tagged OK, in ms. */
async function login(target: Target, count: number): Promise<{ millis: number[] }> {
  const millis: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    const { socket, reader } = await imapLogin(target);
    millis.push(seconds(started) * 1e3);
    socket.write('z LOGOUT\r\n');
    await reader.until(/^z /);
    socket.destroy();
  }
  return { millis };
}

/**
 * `count` IMAP logins at once; how many succeeded, the time until every one was answered, and
 * the CPU time this client used meanwhile.
 */
async function burst(target: Target, count: number): Promise<{ ok: number; seconds: number; cpuSeconds: number }> {
  // A TLS session to resume first, as the proxy has one from its earlier logins.
  (await imapLogin(target)).socket.destroy();
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const logins = await Promise.allSettled(Array.from({ length: count }, () => imapLogin(target)));
  const elapsed = seconds(started);
  const used = process.cpuUsage(cpu);
  for (const login of logins) if (login.status === 'fulfilled') login.value.socket.destroy();
  return { ok: logins.filter((login) => login.status === 'fulfilled').length, seconds: elapsed, cpuSeconds: (used.user + used.system) / 1e6 };
}

/**
 * Logs in `count` IMAP sessions, `concurrency` at a time, says how many are up, and keeps
 * them, idle, until its standard input closes.
 */
async function hold(target: Target, count: number, concurrency: number): Promise<undefined> {
  const sessions: Socket[] = [];
  let started = 0;
  let failed = 0;
  const begin = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (started < count) {
      started++;
      await imapLogin(target).then(({ socket }) => sessions.push(socket), () => failed++);
    }
  }));
  process.stdout.write(`${JSON.stringify({ up: sessions.length, failed, seconds: seconds(begin) })}\n`);
  await new Promise((resolve) => process.stdin.once('end', resolve).resume());
  for (const socket of sessions) socket.destroy();
  return undefined;
}

async function run(task: Task): Promise<unknown> {
  switch (task.kind) {
    case 'fetch': return fetch(task.target);
    case 'retr': return retr(task.target);
    case 'data': return data(task.target, task.bytes);
    case 'noop': return noop(task.target, task.count);
    case 'login': return login(task.target, task.count);
    case 'burst': return burst(task.target, task.count);
    case 'hold': return hold(task.target, task.count, task.concurrency);
  }
}

async function main(): Promise<void> {
  const { task, ...rest } = JSON.parse(process.argv[2]!) as Setup & { task: Task };
  setup = rest;
  secureContext = createSecureContext({ ca: readFileSync(setup.caFile, 'utf8') });
  const result = await run(task);
  if (result !== undefined) process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
