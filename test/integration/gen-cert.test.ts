import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/config.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const cli = (args: string[]) => spawnSync('node', [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });

/** openssl's own check of the certificate for an address or a host name, trusting the certificate itself. */
function opensslVerify(cert: string, check: '-verify_ip' | '-verify_hostname', value: string): boolean {
  const result = spawnSync('openssl', ['verify', '-CAfile', cert, check, value, cert], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.trim() === `${cert}: OK`;
}

describe('gen-cert', () => {
  it('puts an IP address into the certificate as an IP SAN and a name as a DNS SAN, so clients that verify the address accept it', () => {
    const out = tempDir();
    const result = cli(['gen-cert', '--out', out, '--host', '10.1.2.3', '--host', 'mail.internal', '--host', '[fd00::1]']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('DNS names: mail.internal, localhost\nIP addresses: 10.1.2.3, fd00::1, 127.0.0.1, ::1\n');
    const cert = join(out, 'localhost.crt');
    expect(opensslVerify(cert, '-verify_ip', '10.1.2.3')).toBe(true);
    expect(opensslVerify(cert, '-verify_ip', 'fd00::1')).toBe(true);
    expect(opensslVerify(cert, '-verify_ip', '127.0.0.1')).toBe(true);
    expect(opensslVerify(cert, '-verify_hostname', 'mail.internal')).toBe(true);
    expect(opensslVerify(cert, '-verify_hostname', 'localhost')).toBe(true);
    // The checks are real: other addresses and names fail, and an address is no DNS name.
    expect(opensslVerify(cert, '-verify_ip', '10.1.2.4')).toBe(false);
    expect(opensslVerify(cert, '-verify_hostname', 'other.internal')).toBe(false);
    const sans = spawnSync('openssl', ['x509', '-in', cert, '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' }).stdout;
    expect(sans).not.toContain('DNS:10.1.2.3');
  });

  it('refuses a --host that is neither a DNS name nor an IP address', () => {
    const out = tempDir();
    const result = cli(['gen-cert', '--out', out, '--host', 'mail.internal:993']);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('o365-mail-proxy: --host mail.internal:993: not a DNS name or an IP address\n');
  });

  it('--group lets that group read the key (mode 0640), and nobody else', () => {
    const out = tempDir();
    const gid = process.getgid!();
    const result = cli(['gen-cert', '--out', out, '--group', String(gid)]);
    expect(result.status, result.stderr).toBe(0);
    const key = statSync(join(out, 'localhost.key'));
    expect({ mode: key.mode & 0o777, gid: key.gid }).toEqual({ mode: 0o640, gid });
    expect(result.stdout).toContain(`readable by its owner and group ${gid} (mode 0640)`);
    expect(readFileSync(join(out, 'localhost.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);

    const unknown = cli(['gen-cert', '--out', tempDir(), '--group', 'no-such-group-o365p']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/--group: there is no group "no-such-group-o365p" on this system/);
  });
});
