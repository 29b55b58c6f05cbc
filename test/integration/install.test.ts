import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { minimalConfig, tempDir } from '../helpers/config.js';
import { startDemo } from '../helpers/demo-process.js';
import { python, startInstance } from '../helpers/instance.js';
import { curl } from '../helpers/stack.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * What an installed o365-mail-proxy must do with no checkout beside it: say its version,
 * make a certificate, pass a config that would start, and run the demo for curl.
 */
async function smokeTest(command: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const [program, ...args] = command as [string, ...string[]];
  const run = (more: string[], cwd = tempDir()) => spawnSync(program, [...args, ...more], { cwd, env, encoding: 'utf8', timeout: 60_000 });

  const version = run(['--version']);
  expect(version.stdout, version.stderr).toBe(`${VERSION}\n`);

  const dir = tempDir();
  expect(run(['gen-cert', '--out', join(dir, 'certs')]).status).toBe(0);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(minimalConfig({ listeners: [{ protocol: 'imap', port: 1993, tls: 'implicit' }], tls: { certFile: 'certs/localhost.crt', keyFile: 'certs/localhost.key' } })));
  const check = run(['check-config', '--config', 'config.json'], dir);
  expect(check.stdout, check.stderr).toBe('config.json: OK (1 app registration, 1 account, 1 listener)\n');
  // The schema travels with it: a misspelled key is named.
  writeFileSync(join(dir, 'typo.json'), JSON.stringify({ ...minimalConfig(), listners: [] }));
  expect(run(['check-config', '--config', 'typo.json'], dir).stdout).toMatch(/listners/);

  // An empty folder as working directory: nothing of this checkout can be found from it.
  const demo = await startDemo(command, tempDir(), env);
  try {
    const fetched = await curl(['--user', 'demo:demo-password', `imap://127.0.0.1:${demo.imapPort}/INBOX;UID=1`]);
    expect(fetched.stdout.toString(), demo.output()).toMatch(/Subject: Invoice 1001/);
  } finally {
    expect(await demo.stop()).toBe(0);
  }
}

describe('installation without git', () => {
  it('npm pack makes a package that `npm install -g` installs and runs: --version, gen-cert, check-config, demo', async () => {
    // The package is packed from dist/ as `npm test` just built it (npm pack would run the same
    // build through "prepare", rewriting dist/ under the other tests' feet).
    const work = tempDir();
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: root, stdio: 'ignore' });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
    expect(tarball).toBe(`o365-mail-proxy-${VERSION}.tgz`);
    const prefix = join(work, 'prefix');
    execFileSync('npm', ['install', '-g', '--prefix', prefix, join(work, tarball), '--no-audit', '--no-fund', '--prefer-offline'], { cwd: work, stdio: 'ignore', timeout: 240_000 });
    const bin = process.platform === 'win32' ? join(prefix, 'o365-mail-proxy.cmd') : join(prefix, 'bin', 'o365-mail-proxy');
    await smokeTest([bin]);
  }, 300_000);

  const sea = seaSupport();
  it.skipIf(!sea.ok)(`builds a single executable (Node SEA) that runs without Node: --version, gen-cert, check-config, demo, start with workers: 2${sea.ok ? '' : ` — skipped: ${sea.reason}`}`, async () => {
    const out = tempDir();
    // The script behind `npm run build:sea`, without its `npm run build` (npm test just built).
    execFileSync(process.execPath, [join(root, 'scripts', 'build-sea.mjs'), '--out', out], { stdio: 'ignore', timeout: 120_000 });
    const executable = join(out, process.platform === 'win32' ? 'o365-mail-proxy.exe' : 'o365-mail-proxy');
    expect(statSync(executable).mode & 0o111).not.toBe(0);
    expect(readdirSync(out)).toEqual([process.platform === 'win32' ? 'o365-mail-proxy.exe' : 'o365-mail-proxy']);
    // An empty PATH: no node to fall back on, the executable is the runtime.
    await smokeTest([executable], { ...process.env, PATH: '' });
    // With workers the executable starts itself again (node:cluster): each must read its arguments.
    const instance = await startInstance({ workers: 2 }, [], [executable]);
    try {
      for (let i = 0; i < 4; i++) expect((await python(instance, { client: 'imap' })).loginResponse, instance.output()).toBeDefined();
      expect(new Set(instance.entries().filter((e) => e.event === 'auth.ok').map((e) => e.worker))).toEqual(new Set([1, 2]));
    } finally {
      instance.child.kill('SIGTERM');
      expect(await instance.exited).toBe(0);
      await instance.sandbox.close();
    }
  }, 300_000);
});

/** A SEA needs a node binary built with the SEA fuse (Node's own builds are; some distributions' are not). */
function seaSupport(): { ok: true } | { ok: false; reason: string } {
  if (!['linux', 'win32', 'darwin'].includes(process.platform)) return { ok: false, reason: `no SEA support on ${process.platform}` };
  const [major] = process.versions.node.split('.').map(Number);
  if (major! < 20) return { ok: false, reason: `Node ${process.version} has no single executable applications` };
  if (!readFileSync(process.execPath).includes('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2')) return { ok: false, reason: `${process.execPath} was built without the SEA fuse` };
  return { ok: true };
}
