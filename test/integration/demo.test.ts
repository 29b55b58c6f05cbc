import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_LISTENERS } from '../../src/cli/demo.js';
import { tempDir } from '../helpers/config.js';
import { freePortBase } from '../helpers/net.js';
import { curl } from '../helpers/stack.js';

// The built CLI, as `npm run demo` runs it (npm test builds first).
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const OFFSETS = DEMO_LISTENERS.map((l) => l.offset);
const LOGIN = ['--user', 'demo:demo-password'];

interface Demo {
  child: ChildProcess;
  base: number;
  /** The private temporary folder the demo was given (TMPDIR): what it leaves behind shows here. */
  tmp: string;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<number | null>;
}

let running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
  running = [];
});

/** Spawns `demo --port-base N` with its own TMPDIR; resolves when it exits or prints its settings. */
async function spawnDemo(base: number, args: string[] = []): Promise<Demo & { up: boolean }> {
  const tmp = tempDir();
  const child = spawn('node', [CLI, 'demo', '--port-base', String(base), ...args], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let stderr = '';
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const up = await new Promise<boolean>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start: ${stderr}`)), 20_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('Stop with Ctrl-C')) resolve(true);
    });
    void exited.then(() => resolve(false));
    void exited.finally(() => clearTimeout(timer));
  });
  return { child, base, tmp, stderr: () => stderr, stdout: () => stdout, exited, up };
}

/** A demo on ports no other test uses, as a user's own `npm run demo` might hold the default ones. */
async function startDemo(args: string[] = []): Promise<Demo> {
  for (let attempt = 0; ; attempt++) {
    const demo = await spawnDemo(await freePortBase(OFFSETS), args);
    if (demo.up) return demo;
    // Another test may have taken one of the ports since they were checked: take another block.
    if (attempt < 3 && demo.stderr().includes('already in use')) continue;
    throw new Error(`demo exited: ${demo.stderr()}`);
  }
}

/** The banner's table, read back: which port serves which protocol with which TLS. */
function bannerPorts(banner: string): Record<string, number> {
  const header = /^ +(no TLS +STARTTLS +TLS)$/m.exec(banner);
  expect(header, banner).not.toBeNull();
  const ports: Record<string, number> = {};
  for (const match of banner.matchAll(/^ {2}(IMAP|POP3|SMTP) +127\.0\.0\.1:(\d+) +127\.0\.0\.1:(\d+) +127\.0\.0\.1:(\d+)$/gm)) {
    const [, protocol, plain, starttls, implicit] = match;
    Object.assign(ports, { [`${protocol!.toLowerCase()}/none`]: Number(plain), [`${protocol!.toLowerCase()}/starttls`]: Number(starttls), [`${protocol!.toLowerCase()}/implicit`]: Number(implicit) });
  }
  return ports;
}

/**
 * What neomutt does with its default ssl_force_tls=yes, in Python's standard library: insist on
 * STARTTLS (imaplib and poplib raise when the server does not offer it), verify the certificate
 * against the given file and the address, then log in and read.
 */
const STARTTLS_CLIENT = `
import imaplib, poplib, smtplib, ssl, sys, json
cert, imap_port, pop3_port, smtp_port, plain_imap_port = sys.argv[1], *map(int, sys.argv[2:])
ctx = ssl.create_default_context(cafile=cert)
out = {}
plain = imaplib.IMAP4("127.0.0.1", plain_imap_port)
out["plainOffersStarttls"] = "STARTTLS" in plain.capabilities
plain.logout()
imap = imaplib.IMAP4("127.0.0.1", imap_port)
out["imapOffersStarttls"] = "STARTTLS" in imap.capabilities
imap.starttls(ssl_context=ctx)
imap.login("demo", "demo-password")
out["imapExists"] = int(imap.select("INBOX")[1][0])
imap.logout()
pop = poplib.POP3("127.0.0.1", pop3_port)
pop.stls(context=ctx)
pop.user("demo"); pop.pass_("demo-password")
out["pop3Count"] = pop.stat()[0]
pop.quit()
smtp = smtplib.SMTP("127.0.0.1", smtp_port)
smtp.starttls(context=ctx)
smtp.login("demo", "demo-password")
out["smtpRefused"] = smtp.sendmail("demo@contoso.test", ["demo@contoso.test"], b"Subject: via STARTTLS\\r\\n\\r\\nhello\\r\\n")
smtp.quit()
print(json.dumps(out))
`;

function python(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', STARTTLS_CLIENT, ...args], { timeout: 30_000 }, (error, stdout, stderr) => (error ? reject(new Error(stderr || error.message)) : resolve(JSON.parse(stdout))));
  });
}

describe('o365-mail-proxy demo', () => {
  it('offers an account that sends through Microsoft Graph, prints it, and its printed curl command delivers', async () => {
    const demo = await startDemo();
    const banner = demo.stderr();
    expect(banner).toContain('Sends through Microsoft Graph (smtpVia "graph", SMTP only): scanner / scanner-password, mailbox scans@contoso.test');
    const ports = bannerPorts(banner);
    const sent = await curl(['--user', 'scanner:scanner-password', '--mail-from', 'scans@contoso.test', '--mail-rcpt', 'demo@contoso.test', '--upload-file', '-', `smtp://127.0.0.1:${ports['smtp/none']}`], Buffer.from('Subject: via Graph\r\n\r\nhello\r\n'));
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    const fetched = await curl([...LOGIN, `imap://127.0.0.1:${ports['imap/none']}/INBOX;UID=4`]);
    expect(fetched.stdout.toString()).toMatch(/Subject: via Graph/);
  });

  it('listens on --port-base N plus the well-known ports, offers STARTTLS to clients that insist on TLS, and names its certificate', async () => {
    const demo = await startDemo();
    const banner = demo.stderr();
    expect(banner).toMatch(/Username: demo\s+Password: demo-password/);
    const ports = bannerPorts(banner);
    expect(ports).toEqual(Object.fromEntries(DEMO_LISTENERS.map((l) => [`${l.protocol}/${l.tls}`, demo.base + l.offset])));
    const cert = /^ {4}(\/\S+\/localhost\.crt)$/m.exec(banner)?.[1];
    expect(cert?.startsWith(demo.tmp)).toBe(true);

    const plain = await curl([...LOGIN, `imap://127.0.0.1:${ports['imap/none']}/INBOX;UID=1`]);
    expect(plain.stdout.toString()).toMatch(/Subject: Invoice 1001/);
    const starttls = await curl(['--ssl-reqd', '--cacert', cert!, ...LOGIN, `imap://127.0.0.1:${ports['imap/starttls']}/INBOX;UID=2`]);
    expect(starttls.stderr).toBe('');
    expect(starttls.stdout.toString()).toMatch(/Subject: Invoice 1002/);
    const implicit = await curl(['--cacert', cert!, ...LOGIN, `pop3s://127.0.0.1:${ports['pop3/implicit']}/3`]);
    expect(implicit.stdout.toString()).toMatch(/Subject: Invoice 1003/);

    const seen = await python([cert!, String(ports['imap/starttls']), String(ports['pop3/starttls']), String(ports['smtp/starttls']), String(ports['imap/none'])]);
    expect(seen).toEqual({ plainOffersStarttls: false, imapOffersStarttls: true, imapExists: 3, pop3Count: 3, smtpRefused: {} });

    // Quiet by default: nothing is printed after the banner, so it stays on screen.
    expect(demo.stdout()).toBe('');
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
  });

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('removes its directory (client secret, private key) on %s', async (signal) => {
    const demo = await startDemo(['--log-level', 'info', '--log-format', 'json']);
    const [dir] = readdirSync(demo.tmp);
    expect(dir).toMatch(/^o365-mail-proxy-demo-/);
    expect(readdirSync(`${demo.tmp}/${dir}`).sort()).toEqual(['client-secret.txt', 'config.json', 'localhost.crt', 'localhost.key', 'sandbox-ca.pem']);
    await curl([...LOGIN, `pop3://127.0.0.1:${demo.base + 110}/1`]);
    // --log-level info brings the session log back.
    await expect.poll(() => demo.stdout()).toMatch(/"event":"close"/);
    demo.child.kill(signal);
    expect(await demo.exited).toBe(0);
    expect(readdirSync(demo.tmp)).toEqual([]);
  });

  it('names --port-base when a port is taken, and leaves nothing behind', async () => {
    const base = await freePortBase(OFFSETS);
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(base + 143, '127.0.0.1', resolve));
    try {
      const demo = await spawnDemo(base);
      expect(demo.up).toBe(false);
      expect(await demo.exited).toBe(1);
      expect(demo.stderr()).toContain(`port 127.0.0.1:${base + 143} is already in use (is another demo running?). Choose other ports with --port-base N`);
      expect(demo.stderr()).not.toContain('listeners[].port');
      expect(readdirSync(demo.tmp)).toEqual([]);
    } finally {
      holder.close();
    }
  });

  it('refuses a --port-base whose ports do not exist', async () => {
    const demo = await spawnDemo(64_541);
    expect(await demo.exited).toBe(2);
    expect(demo.stderr()).toMatch(/--port-base must be a whole number from 0 to 64540/);
    expect(existsSync(demo.tmp) && readdirSync(demo.tmp)).toEqual([]);
  });
});
