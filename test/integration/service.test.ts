import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hashPassword } from '../../src/config/password-hash.js';
import { Secret } from '../../src/config/secret.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { FAST_HASH_PARAMS, tempDir } from '../helpers/config.js';
import { curl } from '../helpers/stack.js';
import { WireClient } from '../helpers/wire.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const MAILBOX = 'invoices@contoso.test';

let sandbox: Sandbox | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  child?.kill('SIGKILL');
  child = undefined;
  await sandbox?.close();
  sandbox = undefined;
});

interface Service {
  ports: { imap: number; smtp: number; admin: number };
  configPath: string;
  writeConfig(password: string, extra?: Record<string, unknown>): Promise<void>;
  logs: () => string;
  exited: Promise<number | null>;
}

/** `o365-mail-proxy start` as a service manager runs it, against the sandbox. */
async function startService(options: { clientSecret?: string; roles?: string[] } = {}): Promise<Service> {
  sandbox = await startSandbox();
  const app = sandbox.registerApp(options.roles ? { roles: options.roles } : {});
  sandbox.addMailbox(MAILBOX);
  sandbox.addMailbox('ap@contoso.test');
  sandbox.grantFullAccess(MAILBOX, app.objectId);
  const dir = tempDir({ 'ca.pem': sandbox.caPem });
  const configPath = join(dir, 'config.json');
  const s = sandbox;
  const writeConfig = async (password: string, extra: Record<string, unknown> = {}) => writeFileSync(configPath, JSON.stringify({
    apps: { contoso: { tenantId: s.tenantId, clientId: app.clientId, clientSecret: options.clientSecret ?? app.clientSecret, authorityHost: s.authorityHost } },
    accounts: { talend: { passwordHash: await hashPassword(new Secret(password), FAST_HASH_PARAMS), mailbox: MAILBOX, app: 'contoso' } },
    // Port 0: the kernel picks free ports, read back from the proxy's own log (no race with other tests).
    listeners: [{ protocol: 'imap', port: 0 }, { protocol: 'smtp', port: 0 }],
    upstream: { imap: s.imap, pop3: s.pop3, smtp: s.smtp, caFile: 'ca.pem' },
    admin: { port: 0 },
    ...extra,
  }));
  await writeConfig('first password');
  let output = '';
  child = spawn('node', [CLI, 'start', '--config', configPath, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
  await vi.waitFor(() => expect(output).toContain('"event":"ready"'), STARTUP);
  const ports = { imap: boundPort(output, 'listening', 'imap'), smtp: boundPort(output, 'listening', 'smtp'), admin: boundPort(output, 'admin.listening') };
  return { ports, configPath, writeConfig, logs: () => output, exited };
}

/** The port the proxy reported for one of its listeners. */
function boundPort(output: string, event: string, proto?: string): number {
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { event?: string; proto?: string; port?: number };
    if (entry.event === event && entry.proto === proto && entry.port) return entry.port;
  }
  throw new Error(`no ${event} ${proto ?? ''} line in: ${output}`);
}

/** A child process's output: give it the time a cold start takes on a busy machine. */
const STARTUP = { timeout: 15_000, interval: 50 } as const;

async function imapLogin(port: number, password: string): Promise<{ client: WireClient; answer: string }> {
  const client = await WireClient.open(port);
  await client.line();
  client.send(`a LOGIN talend "${password}"\r\n`);
  return { client, answer: await client.line() };
}

async function http(port: number, path: string): Promise<{ status: number; body: string }> {
  const result = await curl(['--write-out', '%{http_code}', `http://127.0.0.1:${port}${path}`]);
  const text = result.stdout.toString();
  return { status: Number(text.slice(-3)), body: text.slice(0, -3).trimEnd() };
}

describe('running as a service', () => {
  it('answers /healthz, /readyz and /metrics on the admin listener', async () => {
    const service = await startService();
    expect(await http(service.ports.admin, '/healthz')).toEqual({ status: 200, body: 'ok' });
    expect(await http(service.ports.admin, '/readyz')).toEqual({ status: 200, body: '{"ready":true,"apps":{"contoso":"ok"}}' });
    const { client, answer } = await imapLogin(service.ports.imap, 'first password');
    expect(answer).toMatch(/^a OK/);
    client.send('b NOOP\r\nc LOGOUT\r\n');
    await client.ended();
    (await imapLogin(service.ports.imap, 'wrong')).client.close();
    let metrics = '';
    await vi.waitFor(async () => {
      metrics = (await http(service.ports.admin, '/metrics')).body;
      expect(metrics).toContain('o365p_sessions_active{protocol="imap"} 0');
    }, STARTUP);
    expect(metrics).toContain('o365p_sessions_total{protocol="imap"} 2');
    expect(metrics).toContain('o365p_logins_total{protocol="imap",result="ok",reason=""} 1');
    expect(metrics).toContain('o365p_logins_total{protocol="imap",result="denied",reason="wrong-password"} 1');
    expect(metrics).toContain('o365p_token_requests_total{app="contoso"} 1');
    expect(metrics).toMatch(/o365p_token_request_seconds_count\{app="contoso"\} 1/);
    expect(metrics).toMatch(/o365p_upstream_login_seconds_count\{protocol="imap"\} 1/);
    expect(metrics).toMatch(/o365p_upstream_connect_seconds_count\{host="127\.0\.0\.1"\} 1/);
    expect(metrics).toMatch(/o365p_bytes_total\{protocol="imap",direction="down"\} [1-9]/);
    // The process and the Node runtime: prom-client's default metrics, under the proxy's prefix.
    expect(metrics).toMatch(/^o365p_process_cpu_seconds_total \d/m);
    expect(metrics).toMatch(/^o365p_process_open_fds [1-9]/m);
    expect(metrics).toMatch(/^o365p_nodejs_eventloop_lag_seconds \d/m);
    expect(metrics).toMatch(/^o365p_nodejs_eventloop_lag_p99_seconds \d/m);
    const headers = await curl(['--output', '/dev/null', '--write-out', '%{content_type}', `http://127.0.0.1:${service.ports.admin}/metrics`]);
    expect(headers.stdout.toString()).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect((await http(service.ports.admin, '/nope')).status).toBe(404);
  });

  it('is not ready while no token can be had, and says why', async () => {
    const service = await startService({ clientSecret: 'wrong~secret' });
    // Said at start, before any client logs in.
    await vi.waitFor(() => expect(service.logs()).toContain('"event":"token.fail"'), STARTUP);
    expect(service.logs()).toMatch(/"event":"token\.fail".*AADSTS7000215/);
    const ready = await http(service.ports.admin, '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toEqual({ ready: false, apps: { contoso: 'invalid client secret (AADSTS7000215)' } });
  });

  it('says at start when the token lacks a role the accounts need', async () => {
    const service = await startService({ roles: ['IMAP.AccessAsApp'] });
    await vi.waitFor(() => expect(service.logs()).toContain('"event":"token.role-missing"'), STARTUP);
    const missing = service.logs().split('\n').filter((line) => line.includes('"event":"token.role-missing"')).map((line) => JSON.parse(line).role);
    expect(missing.sort()).toEqual(['POP.AccessAsApp', 'SMTP.SendAsApp']);
  });

  it('on SIGTERM says BYE to IMAP clients, lets an SMTP transaction finish, and exits 0', async () => {
    const service = await startService();
    const { client: piped } = await imapLogin(service.ports.imap, 'first password');
    const waiting = await WireClient.open(service.ports.imap);
    await waiting.line();
    const smtp = await WireClient.open(service.ports.smtp);
    await smtp.line();
    smtp.send(`EHLO test\r\nAUTH PLAIN ${Buffer.from('\0talend\0first password').toString('base64')}\r\n`);
    await smtp.until(/^235 /);
    smtp.send(`MAIL FROM:<${MAILBOX}>\r\nRCPT TO:<ap@contoso.test>\r\nDATA\r\n`);
    await smtp.until(/^354 /);

    child!.kill('SIGTERM');
    expect(await piped.line()).toBe('* BYE o365-mail-proxy is shutting down.');
    expect(await waiting.line()).toBe('* BYE o365-mail-proxy is shutting down.');
    await piped.ended();
    // The message in flight is still delivered and acknowledged.
    smtp.send('Subject: during shutdown\r\n\r\nstill delivered\r\n.\r\n');
    expect(await smtp.line()).toMatch(/^250 /);
    expect(sandbox!.messages('ap@contoso.test').map(String)).toContain('Subject: during shutdown\r\n\r\nstill delivered\r\n');
    smtp.send('QUIT\r\n');
    expect(await service.exited).toBe(0);
  }, 30_000);

  it('on SIGHUP takes new passwords without dropping sessions, and refuses a broken config', async () => {
    const service = await startService();
    const { client: kept, answer } = await imapLogin(service.ports.imap, 'first password');
    expect(answer).toMatch(/^a OK/);

    await service.writeConfig('second password');
    child!.kill('SIGHUP');
    await vi.waitFor(() => expect(service.logs()).toContain('"event":"reload"'), STARTUP);
    expect((await imapLogin(service.ports.imap, 'first password')).answer).toMatch(/^a NO \[AUTHENTICATIONFAILED\]/);
    expect((await imapLogin(service.ports.imap, 'second password')).answer).toMatch(/^a OK/);
    kept.send('b NOOP\r\n');
    expect(await kept.line()).toMatch(/^b OK/);

    writeFileSync(service.configPath, '{"apps": {}}');
    child!.kill('SIGHUP');
    await vi.waitFor(() => expect(service.logs()).toContain('"event":"reload.rejected"'), STARTUP);
    expect(service.logs()).toMatch(/new configuration rejected; keeping the running one/);
    expect((await imapLogin(service.ports.imap, 'second password')).answer).toMatch(/^a OK/);
  }, 30_000);
});
