import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/config.js';
import { freePort } from '../helpers/net.js';
import { curl, PASSWORD, python, startStack, USER, type Stack } from '../helpers/stack.js';

/**
 * The way out through a real HTTP proxy, Debian's tinyproxy, as in a corporate network:
 * the sandbox stands in for Microsoft, tinyproxy for the proxy every request must pass.
 */
interface Tinyproxy {
  port: number;
  /** tinyproxy's own log: one "CONNECT host:port" line per tunnel it opened. */
  connects(): string[];
  close(): void;
}

const PROXY_USER = 'svc-mail';
const PROXY_PASSWORD = 'Pr0xy-passw0rd';

async function startTinyproxy(options: { port?: number; basicAuth?: boolean; connectPorts?: number[] } = {}): Promise<Tinyproxy> {
  const port = options.port ?? await freePort();
  const dir = tempDir();
  writeFileSync(join(dir, 'tinyproxy.conf'), [
    `Port ${port}`, 'Listen 127.0.0.1', 'Timeout 60', 'MaxClients 100', 'LogLevel Connect', 'Allow 127.0.0.1',
    ...(options.basicAuth ? [`BasicAuth ${PROXY_USER} ${PROXY_PASSWORD}`] : []),
    // Without ConnectPort lines tinyproxy tunnels to any port; with them, only to those.
    ...(options.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
    '',
  ].join('\n'));
  let output = '';
  const child: ChildProcess = spawn('tinyproxy', ['-d', '-c', join(dir, 'tinyproxy.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  for (let tries = 0; !(await accepts(port)); tries++) {
    if (tries > 100 || child.exitCode !== null) throw new Error(`tinyproxy did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    connects: () => [...output.matchAll(/Request \(file descriptor \d+\): CONNECT (\S+)/g)].map((m) => m[1]!),
    close: () => child.kill('SIGKILL'),
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

let tinyproxy: Tinyproxy | undefined;
let stack: Stack | undefined;
afterEach(async () => {
  tinyproxy?.close();
  tinyproxy = undefined;
  await stack?.close();
  stack = undefined;
});

const authority = (url: string) => new URL(url).host;
const hostPort = (target: { host: string; port: number }) => `${target.host}:${target.port}`;

describe('through a real HTTP proxy (tinyproxy)', () => {
  it('gets tokens and reaches IMAP, POP3 and SMTP through CONNECT tunnels, with Basic credentials that never reach a log', async () => {
    tinyproxy = await startTinyproxy({ basicAuth: true });
    process.env.O365P_TEST_PROXY_PASSWORD = PROXY_PASSWORD;
    stack = await startStack({
      logLevel: 'trace',
      config: { upstream: { httpProxy: { url: `http://127.0.0.1:${tinyproxy.port}`, username: PROXY_USER, password: '${env:O365P_TEST_PROXY_PASSWORD}', forMail: true } } },
    });
    const imap = await curl(['--user', `${USER}:${PASSWORD}`, `imap://127.0.0.1:${stack.port('imap')}/INBOX;UID=1`]);
    expect(imap.stdout.toString()).toContain('Subject: First');
    const pop3 = await python(stack, { client: 'pop3', auth: 'USER' });
    expect(pop3.count).toBe(2);
    const smtp = await python(stack, { client: 'smtp', auth: 'PLAIN', messages: [{ from: 'invoices@contoso.test', to: ['invoices@contoso.test'], text: 'Subject: via proxy\r\n\r\nhi\r\n' }] });
    expect(smtp.sent).toEqual([{ ok: true, refused: {} }]);

    const tunnels = new Set(tinyproxy.connects());
    expect(tunnels).toEqual(new Set([authority(stack.sandbox.authorityHost), hostPort(stack.sandbox.imap), hostPort(stack.sandbox.pop3), hostPort(stack.sandbox.smtp)]));
    const logs = stack.logs.join('\n');
    expect(logs).not.toContain(PROXY_PASSWORD);
    expect(logs).not.toContain(Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString('base64'));
  });

  it('sends only token requests through the proxy unless forMail is set', async () => {
    tinyproxy = await startTinyproxy();
    stack = await startStack({ config: { upstream: { httpProxy: { url: `http://127.0.0.1:${tinyproxy.port}` } } } });
    const imap = await curl(['--user', `${USER}:${PASSWORD}`, `imap://127.0.0.1:${stack.port('imap')}/INBOX;UID=2`]);
    expect(imap.stdout.toString()).toContain('Subject: Second');
    expect(tinyproxy.connects()).toEqual([authority(stack.sandbox.authorityHost)]);
  });

  it('sends Microsoft Graph requests through the proxy as it does token requests (forMail not needed)', async () => {
    tinyproxy = await startTinyproxy();
    stack = await startStack({ smtpVia: 'graph', config: { upstream: { httpProxy: { url: `http://127.0.0.1:${tinyproxy.port}` } } } });
    const smtp = await python(stack, { client: 'smtp', auth: 'PLAIN', messages: [{ from: 'invoices@contoso.test', to: ['invoices@contoso.test'], text: 'To: invoices@contoso.test\r\nSubject: graph via proxy\r\n\r\nhi\r\n' }] });
    expect(smtp.sent).toEqual([{ ok: true, refused: {} }]);
    expect(stack.sandbox.graphSent()).toHaveLength(1);
    expect(new Set(tinyproxy.connects())).toEqual(new Set([authority(stack.sandbox.authorityHost), authority(stack.sandbox.graphUrl)]));
  });

  it('missing or wrong proxy credentials: the client hears "try later", the log says the proxy wants credentials', async () => {
    tinyproxy = await startTinyproxy({ basicAuth: true });
    stack = await startStack({ config: { upstream: { httpProxy: { url: `http://${PROXY_USER}:wrong@127.0.0.1:${tinyproxy.port}` } } } });
    const seen = await python(stack, { client: 'imap', auth: 'LOGIN' });
    expect(seen.loginError).toMatch(/\[UNAVAILABLE\]/);
    expect(stack.logs.join('\n')).toMatch(/proxy 127\.0\.0\.1:\d+ wants credentials \(HTTP 40[17] .*are not accepted/);
    await stack.close();

    stack = await startStack({ config: { upstream: { httpProxy: { url: `http://127.0.0.1:${tinyproxy.port}` } } } });
    expect((await python(stack, { client: 'imap', auth: 'LOGIN' })).loginError).toMatch(/\[UNAVAILABLE\]/);
    expect(stack.logs.join('\n')).toMatch(/proxy 127\.0\.0\.1:\d+ wants credentials \(HTTP 407 .*set upstream\.httpProxy\.username and password/);
  });

  it('a proxy that does not tunnel to the mail port: the client hears "try later", the log names the port', async () => {
    const port = await freePort();
    stack = await startStack({ config: { upstream: { httpProxy: { url: `http://127.0.0.1:${port}`, forMail: true } } } });
    // Tunnels only to the token endpoint's port, as a proxy that allows only 443 would.
    tinyproxy = await startTinyproxy({ port, connectPorts: [Number(new URL(stack.sandbox.authorityHost).port)] });
    const seen = await python(stack, { client: 'imap', auth: 'LOGIN' });
    expect(seen.loginError).toMatch(/\[UNAVAILABLE\]/);
    expect(stack.logs.join('\n')).toMatch(new RegExp(`refused the tunnel to ${hostPort(stack.sandbox.imap).replace(/\./g, '\\.')} \\(HTTP 403[^)]*\\); the proxy may not allow CONNECT to port ${stack.sandbox.imap.port}`));
  });
});
