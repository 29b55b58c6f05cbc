/**
 * npm run bench — speed and memory of the proxy against the local sandbox, on loopback.
 * Everything (clients, proxy, sandbox) runs in this one process, so numbers are for
 * comparison between versions of the proxy on one machine, not absolute capacity.
 *
 *   logins/s           1,000 concurrent IMAP logins (one token request, cached password checks)
 *   piped MiB/s        a 64 MiB IMAP FETCH through the proxy, next to the same FETCH direct
 *   KiB per session    memory held by idle logged-in IMAP sessions
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../src/config/validate.js';
import { createLogger } from '../src/ops/log.js';
import { hashPassword } from '../src/config/password-hash.js';
import { Secret } from '../src/config/secret.js';
import { startProxy } from '../src/listen/proxy.js';
import { startSandbox } from '../src/sandbox/index.js';

const MAILBOX = 'bench@contoso.test';
const PASSWORD = 'bench-password';

async function main(): Promise<void> {
  const big = Buffer.concat([Buffer.from(`Subject: big\r\n\r\n`), Buffer.alloc(64 * 1024 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+/\r\n')]);
  const sandbox = await startSandbox();
  const app = sandbox.registerApp({});
  sandbox.addMailbox(MAILBOX, [big]);
  sandbox.grantFullAccess(MAILBOX, app.objectId);
  const dir = mkdtempSync(join(tmpdir(), 'o365p-bench-'));
  writeFileSync(join(dir, 'ca.pem'), sandbox.caPem);
  const config = validateConfig({
    apps: { a: { tenantId: sandbox.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, authorityHost: sandbox.authorityHost } },
    accounts: { bench: { passwordHash: await hashPassword(new Secret(PASSWORD)), mailbox: MAILBOX, app: 'a' } },
    listeners: [{ protocol: 'imap', port: 0 }],
    // One mailbox, a thousand sessions: far past Exchange's own limit, so the cap is off here.
    upstream: { imap: sandbox.imap, pop3: sandbox.pop3, smtp: sandbox.smtp, caFile: 'ca.pem', maxSessionsPerMailbox: { imap: 0 } },
  }, dir);
  const quiet = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const proxy = await startProxy(config, createLogger({ level: 'warn', format: 'json', destination: quiet }));
  const port = proxy.listeners[0]!.port;

  // Warm up: first token and first scrypt.
  (await login(port)).destroy();

  const logins = 1000;
  let started = performance.now();
  const sockets = await Promise.all(Array.from({ length: logins }, () => login(port)));
  const loginSeconds = (performance.now() - started) / 1000;
  report('IMAP logins/s (1,000 concurrent)', logins / loginSeconds);

  for (const s of sockets) s.destroy();
  await settle();
  global.gc?.();
  const before = process.memoryUsage();
  const idle = await Promise.all(Array.from({ length: 500 }, () => login(port)));
  await settle();
  global.gc?.();
  const after = process.memoryUsage();
  // Both ends of every connection live in this process (client, proxy, sandbox): divide by 1 session.
  report('KiB per idle session (all ends, this process)', (after.rss - before.rss) / 1024 / 500);
  for (const s of idle) s.destroy();
  await settle();

  started = performance.now();
  await fetchAll(await login(port), big.length);
  report('MiB/s FETCH through the proxy', big.length / 1048576 / ((performance.now() - started) / 1000));

  started = performance.now();
  await fetchAll(await directLogin(sandbox), big.length);
  report('MiB/s FETCH direct from the sandbox', big.length / 1048576 / ((performance.now() - started) / 1000));

  await proxy.close();
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
}

function report(what: string, value: number): void {
  process.stdout.write(`${what.padEnd(48)} ${value.toFixed(1)}\n`);
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 500));

function readUntil(socket: Socket, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text = (text + chunk.toString('latin1')).slice(-4096);
      if (pattern.test(text)) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

async function login(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  await readUntil(socket, /\* OK.*\r\n/);
  socket.write(`a LOGIN bench ${PASSWORD}\r\n`);
  await readUntil(socket, /a OK.*\r\n/);
  return socket;
}

async function directLogin(sandbox: Awaited<ReturnType<typeof startSandbox>>): Promise<Socket> {
  const socket = tlsConnect({ host: '127.0.0.1', port: sandbox.imap.port, ca: sandbox.caPem, servername: 'localhost' });
  await readUntil(socket, /\* OK.*\r\n/);
  const token = await directToken(sandbox);
  socket.write(`a AUTHENTICATE XOAUTH2 ${Buffer.from(`user=${MAILBOX}\x01auth=Bearer ${token}\x01\x01`).toString('base64')}\r\n`);
  await readUntil(socket, /a OK.*\r\n/);
  return socket;
}

async function directToken(sandbox: Awaited<ReturnType<typeof startSandbox>>): Promise<string> {
  const { request } = await import('node:https');
  const app = sandbox.registerApp({});
  sandbox.grantFullAccess(MAILBOX, app.objectId);
  const body = new URLSearchParams({ client_id: app.clientId, client_secret: app.clientSecret!, scope: 'https://outlook.office365.com/.default', grant_type: 'client_credentials' }).toString();
  return new Promise((resolve, reject) => {
    const req = request(`${sandbox.authorityHost}/${sandbox.tenantId}/oauth2/v2.0/token`, { method: 'POST', ca: sandbox.caPem, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve((JSON.parse(text) as { access_token: string }).access_token));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function fetchAll(socket: Socket, size: number): Promise<void> {
  socket.write('b SELECT INBOX\r\n');
  await readUntil(socket, /b OK.*\r\n/);
  let received = 0;
  await new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= size && chunk.toString('latin1').includes('c OK')) resolve();
    });
    socket.write('c FETCH 1 BODY.PEEK[]\r\n');
  });
  socket.destroy();
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
