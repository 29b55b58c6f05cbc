import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { minimalConfig, tempDir } from '../helpers/config.js';
import { freePort } from '../helpers/net.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const uid = process.getuid!();
const gid = process.getgid!();
const AS_ROOT = uid === 0;
const OTHER_ID = 4242;

/**
 * How the proxy is run so that a file it may not read really is unreadable. As root (CI) the
 * process keeps uid 0 but loses the capabilities that let root read any file, so the file's
 * owner and mode count as for any service user; otherwise it runs as it is.
 */
const RUN = AS_ROOT ? ['setpriv', '--inh-caps=-dac_override,-dac_read_search', '--bounding-set=-dac_override,-dac_read_search', 'node'] : ['node'];

/** Makes a file or directory unreadable for the process: another owner (as root), or no permissions at all. */
function lockOut(path: string): void {
  if (AS_ROOT) chownSync(path, OTHER_ID, OTHER_ID);
  else chmodSync(path, 0);
}

function groupName(id: number): string {
  return readFileSync('/etc/group', 'utf8').split('\n').map((line) => line.split(':')).find((fields) => fields[2] === String(id))?.[0] ?? String(id);
}

/** A config with a STARTTLS listener and the certificate gen-cert wrote into certs/. */
async function setUp(): Promise<{ dir: string; config: string; key: string }> {
  const dir = tempDir();
  const made = spawnSync('node', [CLI, 'gen-cert', '--out', join(dir, 'certs')], { encoding: 'utf8' });
  expect(made.status, made.stderr).toBe(0);
  const config = minimalConfig({ listeners: [{ protocol: 'imap', port: 0, tls: 'starttls' }], tls: { certFile: 'certs/localhost.crt', keyFile: 'certs/localhost.key' } });
  // start asks for a token at once: a closed loopback port answers, nothing leaves the machine.
  (config.apps as any).contoso.authorityHost = `https://127.0.0.1:${await freePort()}`;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return { dir, config: join(dir, 'config.json'), key: join(dir, 'certs', 'localhost.key') };
}

function start(config: string): { status: number | null; stderr: string } {
  const [command, ...args] = RUN;
  const result = spawnSync(command!, [...args, CLI, 'start', '--config', config, '--log-format', 'json'], { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stderr: result.stderr };
}

/** Starts the proxy the same way, waits for "ready", stops it with SIGTERM; returns its exit code. */
async function startsAndStops(config: string): Promise<number | null> {
  const [command, ...args] = RUN;
  const child = spawn(command!, [...args, CLI, 'start', '--config', config, '--log-format', 'json']);
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await expect.poll(() => output, { timeout: 15_000 }).toContain('"event":"ready"');
  child.kill('SIGTERM');
  return exited;
}

describe('a file the proxy may not read', () => {
  it('start names the user it runs as, the key\'s owner and mode, and a fix that works', async () => {
    const { config, key } = await setUp();
    lockOut(key);
    const refused = start(config);
    expect(refused.status).toBe(2);
    const owner = AS_ROOT ? `uid ${OTHER_ID}` : `uid ${uid}`;
    const mode = AS_ROOT ? '0600' : '0000';
    expect(refused.stderr).toContain(`tls.keyFile: cannot read ${key} (EACCES): the proxy runs as uid ${uid}`);
    expect(refused.stderr).toMatch(new RegExp(`the file is owned by ${owner}\\b.*, mode ${mode}\\.`));
    const fix = new RegExp(`Fix: let group ${groupName(gid)} read it \\(as root or the file's owner\\): (chgrp \\S+ \\S+ && chmod 640 \\S+)\\.$`, 'm').exec(refused.stderr);
    expect(fix, refused.stderr).not.toBeNull();
    // Not the advice for a missing file.
    expect(refused.stderr).not.toContain('gen-cert');

    // The fix as printed, run by whoever may change the file (root, or its owner), lets the proxy start.
    expect(spawnSync('sh', ['-c', fix![1]!]).status).toBe(0);
    expect(await startsAndStops(config)).toBe(0);
  });

  it('names the directory in the way when the process may not enter it', async () => {
    const { dir, config, key } = await setUp();
    const certs = join(dir, 'certs');
    chmodSync(certs, 0o700);
    lockOut(certs);
    const refused = start(config);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`tls.keyFile: cannot read ${key} (EACCES): the proxy runs as uid ${uid}`);
    expect(refused.stderr).toContain(`may not enter ${certs}, owned by`);
    const fix = AS_ROOT ? `Fix: as root: chgrp ${groupName(gid)} ${certs} && chmod g+x ${certs}, or move the file` : `Fix: chmod u+x ${certs}.`;
    expect(refused.stderr).toContain(fix);
    // The fix as printed lets the proxy start.
    expect(spawnSync('sh', ['-c', fix.replace(/^Fix: (as root: )?/, '').replace(/(, or move.*|\.)$/, '')]).status).toBe(0);
    expect(await startsAndStops(config)).toBe(0);
    // Leave the directory removable at the end of the run.
    chmodSync(certs, 0o700);
  });
});
