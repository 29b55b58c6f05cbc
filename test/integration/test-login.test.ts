import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSelfSignedCertificate } from '../../src/ops/self-signed-certificate.js';
import type { Protocol, TlsMode } from '../../src/config/types.js';
import { tempDir } from '../helpers/config.js';
import { CLI, cliAsync as cli } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { PASSWORD, startStack, USER, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.close());

/** The running proxy's config as test-login reads it: its accounts, its listeners with their real ports, its certificate. */
function configFile(options: { protocols?: Protocol[]; listeners?: { protocol: Protocol; tls: TlsMode; port: number }[]; certFile?: string } = {}): string {
  const listeners = options.listeners ?? stack.proxy.listeners.map((l) => ({ protocol: l.protocol, tls: l.tls, port: l.port }));
  const file = join(tempDir(), 'config.json');
  writeFileSync(file, JSON.stringify({
    apps: { contoso: { tenantId: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', clientSecret: '${env:O365P_TEST_NEVER_SET}' } },
    accounts: { [USER]: { passwordHash: 'scrypt:ln=10,r=8,p=1:c2FsdA==:aGFzaA==', mailbox: 'invoices@contoso.test', app: 'contoso', ...(options.protocols ? { protocols: options.protocols } : {}) } },
    listeners: listeners.map((l) => ({ ...l, host: '127.0.0.1' })),
    tls: { certFile: options.certFile ?? stack.localCaFile, keyFile: 'unused.key' },
  }));
  return file;
}

/** The report's lines for one listener, from its heading to the next blank or heading line. */
function section(stdout: string, protocol: string, tls: TlsMode): string[] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`${USER} over ${protocol} at `) && l.endsWith(`(tls: ${tls})`));
  expect(start, `${protocol}/${tls} in:\n${stdout}`).toBeGreaterThanOrEqual(0);
  const rest = lines.slice(start + 1);
  return rest.slice(0, rest.findIndex((l) => !l.startsWith('  '))).map((l) => l.replace(/ \(\d+\.\d s\)$/, ''));
}

const stepNames = (lines: string[]) => lines.map((l) => /^ {2}[✓✗] (\S+(?: \S+)?)/.exec(l)?.[1]?.trim());

describe('test-login', () => {
  it('logs in through every listener of the running proxy with the piped password and reports each step', async () => {
    // PASSWORD has spaces, quotes, a backslash and non-ASCII: IMAP needs a literal for it.
    const result = await cli(['test-login', USER, '--config', configFile()], `${PASSWORD}\n`);
    expect(result.stderr).toBe('');
    expect(result.status, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/\ntalend logged in through all 9 listeners\n$/);
    expect(stepNames(section(result.stdout, 'imap', 'none'))).toEqual(['connect', 'greeting', 'login', 'SELECT INBOX', 'logout']);
    expect(stepNames(section(result.stdout, 'imap', 'starttls'))).toEqual(['connect', 'greeting', 'STARTTLS', 'TLS', 'login', 'SELECT INBOX', 'logout']);
    expect(stepNames(section(result.stdout, 'pop3', 'starttls'))).toEqual(['connect', 'greeting', 'STLS', 'TLS', 'login', 'STAT', 'logout']);
    expect(stepNames(section(result.stdout, 'smtp', 'starttls'))).toEqual(['connect', 'greeting', 'EHLO', 'STARTTLS', 'TLS', 'EHLO', 'login', 'NOOP', 'logout']);
    expect(stepNames(section(result.stdout, 'smtp', 'implicit'))).toEqual(['connect', 'TLS', 'greeting', 'EHLO', 'login', 'NOOP', 'logout']);
    expect(section(result.stdout, 'imap', 'implicit')).toContainEqual(expect.stringMatching(/✓ TLS +TLSv1\.[23], certificate for localhost valid until \d{4}-\d\d-\d\d, the one in tls\.certFile$/));
    expect(section(result.stdout, 'imap', 'none')).toContainEqual(expect.stringMatching(/✓ SELECT INBOX +INBOX holds 2 messages$/));
    expect(section(result.stdout, 'pop3', 'none')).toContainEqual(expect.stringMatching(/✓ STAT +2 messages, \d+ bytes$/));
    expect(section(result.stdout, 'smtp', 'none')).toContainEqual(expect.stringMatching(/✓ login +235 /));
    expect(result.stdout).not.toContain(PASSWORD.trim());
  });

  it('stops at the failing step with the proxy\'s own answer and exit code 1 when the password is wrong', async () => {
    const result = await cli(['test-login', USER, '--config', configFile(), '--protocol', 'imap', '--port', String(stack.port('imap', 'none'))], 'not the password\n');
    expect(result.status, result.stdout).toBe(1);
    const lines = section(result.stdout, 'imap', 'none');
    expect(stepNames(lines)).toEqual(['connect', 'greeting', 'login']);
    expect(lines.at(-1)).toMatch(/✗ login +a2 NO \[AUTHENTICATIONFAILED\] /);
    expect(result.stdout).toMatch(/1 of 1 logins failed\. The proxy's log tells why .*doctor --account talend/);
  });

  it('says when nothing listens where the config says (a proxy not running, or started with another config)', async () => {
    const port = await freePort();
    const result = await cli(['test-login', USER, '--config', configFile({ listeners: [{ protocol: 'pop3', tls: 'none', port }] })], `${PASSWORD}\n`);
    expect(result.status, result.stdout).toBe(1);
    expect(section(result.stdout, 'pop3', 'none')).toEqual([expect.stringMatching(/^ {2}✗ connect +ECONNREFUSED: is the proxy running, and is this the config it runs with\?/)]);
  });

  it('points out a served certificate other than the configured one (replaced without a reload)', async () => {
    const other = await generateSelfSignedCertificate();
    const certFile = join(tempDir({ 'new.crt': other.certPem }), 'new.crt');
    const result = await cli(['test-login', USER, '--config', configFile({ certFile }), '--port', String(stack.port('pop3', 'implicit'))], `${PASSWORD}\n`);
    expect(result.status, result.stdout).toBe(0);
    expect(section(result.stdout, 'pop3', 'implicit')).toContainEqual(expect.stringMatching(/✓ TLS .*, not the one in tls\.certFile now \(reload or restart the proxy after replacing it\)$/));
  });

  it('refuses a protocol the account may not use, before asking for the password (exit 2)', async () => {
    const result = await cli(['test-login', USER, '--config', configFile({ protocols: ['smtp'] }), '--protocol', 'pop3']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/talend may not use pop3 \(accounts\.talend\.protocols: smtp\)/);
  });

  it('asks for the password on a terminal without echoing it', async () => {
    const file = configFile({ listeners: [{ protocol: 'imap', tls: 'none', port: stack.port('imap', 'none') }] });
    const child = spawn('script', ['-qfec', `node ${CLI} test-login ${USER} --config ${file}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const before = screen;
      screen += chunk.toString();
      if (!before.includes('Local password of talend: ') && screen.includes('Local password of talend: ')) child.stdin.write(`${PASSWORD}\r`);
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(screen).toMatch(/^Local password of talend: \r\ntalend over imap/);
    expect(screen).not.toContain(PASSWORD.trim());
  });
});
