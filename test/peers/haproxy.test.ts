import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Protocol, TlsMode } from '../../src/config/types.js';
import { tempDir } from '../helpers/config.js';
import { freePort } from '../helpers/net.js';
import { curl, MAILBOX, PASSWORD, startStack, USER, type Stack } from '../helpers/stack.js';

/**
 * The proxy behind a real load balancer, Debian's HAProxy in TCP mode, which tells it the
 * client's address with the PROXY protocol (send-proxy: v1, send-proxy-v2: v2). Clients are
 * curl, bound to their own loopback addresses so that they differ from HAProxy's (127.0.0.1).
 */
interface Route {
  protocol: Protocol;
  tls: TlsMode;
  version: 'send-proxy' | 'send-proxy-v2';
  /** HAProxy's frontend port for this route. */
  port: number;
}

const ROUTES: Omit<Route, 'port'>[] = [
  { protocol: 'imap', tls: 'none', version: 'send-proxy' },
  { protocol: 'imap', tls: 'implicit', version: 'send-proxy-v2' },
  { protocol: 'pop3', tls: 'none', version: 'send-proxy-v2' },
  { protocol: 'pop3', tls: 'implicit', version: 'send-proxy' },
  { protocol: 'smtp', tls: 'none', version: 'send-proxy' },
  { protocol: 'smtp', tls: 'starttls', version: 'send-proxy-v2' },
];

let stack: Stack;
let haproxy: ChildProcess | undefined;
let haproxyOutput = '';
const routes: Route[] = [];

beforeAll(async () => {
  stack = await startStack({
    config: {
      clients: { maxFailedLogins: 2 },
      // HAProxy connects to the proxy from 127.0.0.1: the one balancer trusted.
      listeners: ROUTES.map(({ protocol, tls }) => ({ protocol, port: 0, tls, proxyProtocol: ['127.0.0.1'] })),
    },
  });
  const lines = ['global', '  maxconn 200', 'defaults', '  mode tcp', '  timeout connect 5s', '  timeout client 60s', '  timeout server 60s'];
  for (const [index, route] of ROUTES.entries()) {
    const port = await freePort();
    routes.push({ ...route, port });
    lines.push(`listen route${index}`, `  bind 127.0.0.1:${port}`, `  server proxy 127.0.0.1:${stack.port(route.protocol, route.tls)} ${route.version}`);
  }
  const config = join(tempDir(), 'haproxy.cfg');
  writeFileSync(config, `${lines.join('\n')}\n`);
  haproxy = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  haproxy.stdout!.on('data', (c: Buffer) => (haproxyOutput += c.toString()));
  haproxy.stderr!.on('data', (c: Buffer) => (haproxyOutput += c.toString()));
  for (let tries = 0; !(await accepts(routes.at(-1)!.port)); tries++) {
    if (tries > 100 || haproxy.exitCode !== null) throw new Error(`haproxy did not start: ${haproxyOutput}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

afterAll(async () => {
  haproxy?.kill('SIGKILL');
  await stack?.close();
});

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

const route = (protocol: Protocol, tls: TlsMode) => routes.find((r) => r.protocol === protocol && r.tls === tls)!;

/** curl through HAProxy from `from` (a loopback address of its own). */
function curlThrough(r: Route, from: string, password = PASSWORD) {
  const scheme = r.tls === 'implicit' ? `${r.protocol}s` : r.protocol;
  const common = ['--interface', from, '--user', `${USER}:${password}`, '--cacert', stack.localCaFile, ...(r.tls === 'starttls' ? ['--ssl-reqd'] : [])];
  if (r.protocol === 'imap') return curl([...common, `${scheme}://localhost:${r.port}/INBOX;UID=1`]);
  if (r.protocol === 'pop3') return curl([...common, `${scheme}://localhost:${r.port}/1`]);
  const message = Buffer.from(`From: ${MAILBOX}\r\nTo: ${MAILBOX}\r\nSubject: through HAProxy\r\n\r\nhello\r\n`);
  return curl([...common, '--mail-from', MAILBOX, '--mail-rcpt', MAILBOX, '--upload-file', '-', `${scheme}://localhost:${r.port}`], message);
}

const entries = () => stack.logs.map((line) => JSON.parse(line) as Record<string, any>);

describe('behind HAProxy with the PROXY protocol', () => {
  it.each(ROUTES)('$protocol ($tls) with $version: the session works and is logged with the address HAProxy saw', async ({ protocol, tls }) => {
    const from = '127.0.0.7';
    const before = entries().length;
    const result = await curlThrough(route(protocol, tls), from);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    if (protocol !== 'smtp') expect(result.stdout.toString()).toContain('Subject: First');
    const session = entries().slice(before).filter((e) => e.proto === protocol);
    const sids = new Set(session.filter((e) => e.event === 'auth.ok').map((e) => e.sid));
    expect(sids.size).toBe(1);
    expect(session.filter((e) => sids.has(e.sid)).map((e) => e.client)).toEqual(expect.arrayContaining([expect.stringMatching(/^127\.0\.0\.7:\d+$/)]));
    expect(session.every((e) => !String(e.client ?? '').startsWith('127.0.0.1:'))).toBe(true);
  });

  it('the failed-login lockout keys on the client behind HAProxy, not on HAProxy', async () => {
    const imap = route('imap', 'implicit');
    for (let i = 0; i < 2; i++) expect((await curlThrough(imap, '127.0.0.8', 'wrong password')).code).not.toBe(0);
    // Locked out now, right password or not; the log names the real address.
    expect((await curlThrough(imap, '127.0.0.8')).code).not.toBe(0);
    const lockout = entries().find((e) => e.reason === 'too-many-failures');
    expect(lockout).toMatchObject({ client: expect.stringMatching(/^127\.0\.0\.8:\d+$/), hint: expect.stringMatching(/^2 failed logins from 127\.0\.0\.8:/) });
    // Another client behind the same HAProxy logs in.
    const other = await curlThrough(imap, '127.0.0.9');
    expect(other.code).toBe(0);
    expect(other.stdout.toString()).toContain('Subject: First');
  });
});
