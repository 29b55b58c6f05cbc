import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/config/password-hash.js';
import { Secret } from '../../src/config/secret.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { FAST_HASH_PARAMS, tempDir } from '../helpers/config.js';

// The built CLI, with a preload that reports at exit which scripts the process parsed.
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const REPORTER = fileURLToPath(new URL('../helpers/report-loaded-scripts.mjs', import.meta.url));
/** What a service's `start` never needs, and who does. */
const NOT_FOR_START = [
  /\/node_modules\/(@peculiar|tsyringe|reflect-metadata)\//, // gen-cert and demo (x509's DI container patches the global Reflect)
  /\/dist\/ops\/self-signed-certificate\.js$/, // gen-cert and demo
  /\/dist\/(doctor|sandbox)\//, // doctor; demo
  /\/node_modules\/pino-pretty\//, // log lines for a terminal
];

interface Report {
  reflectMetadata: string;
  scripts: string[];
  output: string;
}

/** Runs the CLI until `stopWhen` is seen in its output (then SIGTERM), or until it exits. */
async function run(args: string[], stopWhen?: string): Promise<Report> {
  const reportFile = join(tempDir(), 'loaded.json');
  const child = spawn('node', ['--import', REPORTER, CLI, ...args], { env: { ...process.env, LOADED_SCRIPTS_REPORT: reportFile }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    if (stopWhen && output.includes(stopWhen)) child.kill('SIGTERM');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const code = await new Promise((resolve) => child.once('exit', resolve));
  expect(code, output).toBe(0);
  return { ...(JSON.parse(readFileSync(reportFile, 'utf8')) as Omit<Report, 'output'>), output };
}

let sandbox: Sandbox;
let configPath: string;
beforeAll(async () => {
  sandbox = await startSandbox();
  const app = sandbox.registerApp({});
  sandbox.addMailbox('invoices@contoso.test');
  sandbox.grantFullAccess('invoices@contoso.test', app.objectId);
  const dir = tempDir({ 'ca.pem': sandbox.caPem });
  configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({
    apps: { contoso: { tenantId: sandbox.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, authorityHost: sandbox.authorityHost } },
    accounts: { talend: { passwordHash: await hashPassword(new Secret('pw'), FAST_HASH_PARAMS), mailbox: 'invoices@contoso.test', app: 'contoso' } },
    listeners: [{ protocol: 'imap', port: 0 }, { protocol: 'pop3', port: 0 }, { protocol: 'smtp', port: 0 }],
    upstream: { imap: sandbox.imap, pop3: sandbox.pop3, smtp: sandbox.smtp, caFile: 'ca.pem' },
    admin: { port: 0 },
  }));
});
afterAll(() => sandbox?.close());

describe('start loads only what the proxy runs on', () => {
  it('never loads the certificate generator, the doctor, the sandbox or the terminal log format, and leaves the global Reflect alone', async () => {
    // Stopped once the token check at start is done, so its lazy loads are in too.
    const start = await run(['start', '--config', configPath, '--log-format', 'json'], '"event":"token.ok"');
    expect(start.output).toContain('"event":"ready"');
    expect(start.reflectMetadata).toBe('undefined');
    expect(start.scripts.filter((url) => NOT_FOR_START.some((pattern) => pattern.test(url)))).toEqual([]);
    // The report sees the proxy's own modules, so an empty list above means something.
    expect(start.scripts.some((url) => url.endsWith('/dist/listen/proxy.js'))).toBe(true);
  });

  it('gen-cert loads the certificate library when it runs (the same report sees it)', async () => {
    const genCert = await run(['gen-cert', '--out', join(tempDir(), 'certs')]);
    expect(genCert.reflectMetadata).toBe('function');
    expect(genCert.scripts.some((url) => url.includes('/node_modules/@peculiar/x509/'))).toBe(true);
  });

  it('--log-format pretty loads pino-pretty and writes readable lines', async () => {
    const pretty = await run(['start', '--config', configPath, '--log-format', 'pretty'], 'o365-mail-proxy is ready');
    expect(pretty.output).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: listening for imap on 127\.0\.0\.1:\d+ \(tls: none\)$/m);
    expect(pretty.scripts.some((url) => url.includes('/node_modules/pino-pretty/'))).toBe(true);
  });
});
