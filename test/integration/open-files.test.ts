import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hashPassword } from '../../src/config/password-hash.js';
import { Secret } from '../../src/config/secret.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { FAST_HASH_PARAMS, tempDir } from '../helpers/config.js';
import { PATIENCE } from '../helpers/wait.js';
import { WireClient } from '../helpers/wire.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const MAILBOX = 'invoices@contoso.test';
const PASSWORD = 'open files';
/** Low enough to reach with a few dozen sockets, high enough for Node and the listeners. */
const OPEN_FILES = 128;

let sandbox: Sandbox | undefined;
let child: ChildProcess | undefined;
let clients: WireClient[] = [];
afterEach(async () => {
  for (const client of clients) client.close();
  clients = [];
  child?.kill('SIGKILL');
  child = undefined;
  await sandbox?.close();
  sandbox = undefined;
});

type LogEntry = Record<string, any>;

/** The built proxy as a child process whose open-files limit (soft and hard) is OPEN_FILES. */
async function startLimited(): Promise<{ imap: number; admin: number; entries: () => LogEntry[] }> {
  sandbox = await startSandbox();
  const app = sandbox.registerApp({});
  sandbox.addMailbox(MAILBOX);
  sandbox.grantFullAccess(MAILBOX, app.objectId);
  const dir = tempDir({ 'ca.pem': sandbox.caPem });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    apps: { contoso: { tenantId: sandbox.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, authorityHost: sandbox.authorityHost } },
    accounts: { talend: { passwordHash: await hashPassword(new Secret(PASSWORD), FAST_HASH_PARAMS), mailbox: MAILBOX, app: 'contoso' } },
    listeners: [{ protocol: 'imap', port: 0 }],
    // More sessions than Exchange allows per mailbox: the open-files limit is what is tested here.
    upstream: { imap: sandbox.imap, pop3: sandbox.pop3, smtp: sandbox.smtp, caFile: 'ca.pem', maxSessionsPerMailbox: { imap: 0 } },
    admin: { port: 0 },
  }));
  let output = '';
  const command = `ulimit -n ${OPEN_FILES} && exec node "$0" start --config "$1" --log-format json`;
  child = spawn('bash', ['-c', command, CLI, join(dir, 'config.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const entries = () => output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogEntry);
  await vi.waitFor(() => expect(entries().map((e) => e.event), output).toContain('ready'), { ...PATIENCE, timeout: 15_000 });
  const port = (event: string) => entries().find((e) => e.event === event)!.port as number;
  return { imap: port('listening'), admin: port('admin.listening'), entries };
}

function metrics(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics' }, (response) => {
      let body = '';
      response.on('data', (c: Buffer) => (body += c.toString()));
      response.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe('the open-files limit', () => {
  it('is read and logged at start; near it clients hear "try later", and once descriptors free up, new clients get in', async () => {
    const proxy = await startLimited();
    const budget = proxy.entries().find((e) => e.event === 'open-files')!;
    expect(budget).toMatchObject({ limit: OPEN_FILES, inUse: expect.any(Number), sessions: expect.any(Number), loginReserve: expect.any(Number) });
    // A logged-in session holds two descriptors; a few more are kept for logins in progress.
    const free = OPEN_FILES - budget.inUse - 32;
    expect(budget.sessions).toBe(Math.floor((free - budget.loginReserve) / 2));
    expect(budget.sessions).toBeGreaterThan(free / 3);
    expect(budget.loginReserve).toBeLessThan(budget.sessions);
    expect(budget.level).toBe(40); // fewer than clients.maxConnections: a warning with the fix
    expect(budget.fix).toMatch(/LimitNOFILE/);

    // Every session the budget allows gets its greeting; the ones past it the "try later" line.
    const answers: string[] = [];
    for (let i = 0; i < budget.sessions + 5; i++) {
      const client = await WireClient.open(proxy.imap);
      clients.push(client);
      answers.push(await client.line());
    }
    expect(answers.slice(0, budget.sessions).every((a) => a.startsWith('* OK '))).toBe(true);
    // The budget holds: every admitted session can be logged in (and piped to Exchange) at once.
    const admitted = clients.slice(0, budget.sessions);
    for (const client of admitted) client.send(`a LOGIN talend {${PASSWORD.length}+}\r\n${PASSWORD}\r\n`);
    // More logins at once than the reserve for logins in progress: the others wait their turn.
    expect((await Promise.all(admitted.map((client) => client.line()))).filter((a) => !a.startsWith('a OK'))).toEqual([]);
    // Every session holds its two descriptors, and the process stays inside its limit.
    expect(readdirSync(`/proc/${child!.pid}/fd`).length).toBeLessThanOrEqual(budget.inUse + 2 * budget.sessions + budget.loginReserve);
    expect(answers.slice(budget.sessions)).toEqual(Array(5).fill('* BYE [UNAVAILABLE] Server busy, try again later.'));
    await vi.waitFor(() => expect(proxy.entries().map((e) => e.event)).toContain('connections.refused'), { ...PATIENCE, timeout: 15_000 });
    expect(proxy.entries().find((e) => e.event === 'connections.refused')).toMatchObject({ level: 40, reason: 'open-files', proto: 'imap' });
    expect(await metrics(proxy.admin)).toMatch(/o365p_connections_refused_total\{protocol="imap",reason="open-files"\} 5\n/);

    // The process is still well: closing the held sessions frees their place for a real login.
    for (const client of clients) client.close();
    clients = [];
    const login = async () => {
      const client = await WireClient.open(proxy.imap);
      clients.push(client);
      await client.line();
      client.send(`a LOGIN talend {${PASSWORD.length}+}\r\n${PASSWORD}\r\n`);
      return client.line();
    };
    // The proxy sees the closes a moment later; until then a new client may still hear "try later".
    await vi.waitFor(async () => expect(await login().catch((error: Error) => error.message)).toMatch(/^a OK /), { timeout: 5_000, interval: 100 });
    expect(proxy.entries().filter((e) => e.level >= 50)).toEqual([]);
  });
});

describe('running out of descriptors anyway', () => {
  it('an upstream connection that fails with EMFILE says so and is counted', async () => {
    // A process that has used up its descriptors (with files here), then dials a listening port.
    const connector = new URL('../../dist/upstream/connector.js', import.meta.url).href;
    const metricsModule = new URL('../../dist/ops/metrics.js', import.meta.url).href;
    const script = `
      import { openSync } from 'node:fs';
      import { createServer } from 'node:net';
      const { UpstreamConnector } = await import(${JSON.stringify(connector)});
      const { Metrics } = await import(${JSON.stringify(metricsModule)});
      const server = createServer().listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const metrics = new Metrics();
      const upstream = new UpstreamConnector({ metrics, connectTimeoutMs: 2000, tlsTimeoutMs: 2000 });
      const held = [];
      try { for (;;) held.push(openSync('/dev/null', 'r')); } catch {}
      const outcome = await upstream.connectPlain({ host: '127.0.0.1', port: server.address().port }).then(() => 'connected', (error) => error.message);
      console.log(JSON.stringify({ outcome, metrics: (await metrics.render()).split('\\n').filter((l) => l.startsWith('o365p_open_files')) }));
      process.exit(0);
    `;
    const output = await new Promise<string>((resolve, reject) => {
      const run = spawn('bash', ['-c', `ulimit -n ${OPEN_FILES} && exec node --input-type=module -e "$0"`, script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      run.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      run.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`))));
    });
    expect(JSON.parse(output)).toEqual({
      outcome: expect.stringMatching(/^cannot connect to 127\.0\.0\.1:\d+: EMFILE \(this process is out of file descriptors: raise its open-files limit or lower clients\.maxConnections\)$/),
      metrics: ['o365p_open_files_exhausted_total{where="upstream"} 1'],
    });
  });
});
