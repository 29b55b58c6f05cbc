import { spawn, spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/config/password-hash.js';
import { Secret } from '../../src/config/secret.js';
import { minimalConfig, tempDir } from '../helpers/config.js';

// The built CLI, as a user runs it (npm test builds first).
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const cli = (args: string[], input?: string) => spawnSync('node', [CLI, ...args], { input, encoding: 'utf8', timeout: 30_000 });

describe('o365-mail-proxy CLI', () => {
  it('hash-password reads a piped password and prints only its hash', async () => {
    const result = cli(['hash-password'], 'pass with spaces \n');
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(await verifyPassword(new Secret('pass with spaces '), lines[0]!)).toBe(true);
  });

  it('hash-password notes on stderr that a non-ASCII password needs UTF-8 over SMTP, and still prints only the hash', async () => {
    const result = cli(['hash-password'], 'Müller\n');
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/Over SMTP AUTH it must arrive in UTF-8/);
    expect(result.stderr).not.toContain('Müller');
    const lines = result.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(await verifyPassword(new Secret('Müller'), lines[0]!)).toBe(true);
  });

  it('hash-password asks twice on a terminal without echoing the password', async () => {
    // script(1) gives the command a real pseudo-terminal.
    const child = spawn('script', ['-qfec', `node ${CLI} hash-password`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let answered = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      screen += chunk.toString();
      const prompts = (screen.match(/Password: |Repeat: /g) ?? []).length;
      if (prompts > answered) {
        answered = prompts;
        child.stdin.write('pä ss\r');
      }
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    // Only prompts, the non-ASCII note, and the hash: no echo of what was typed.
    expect(screen).toMatch(/^Password: \r\nRepeat: \r\nnote: [^]*\r\nscrypt:/);
    expect(screen).not.toContain('pä ss');
    expect(await verifyPassword(new Secret('pä ss'), screen.trim().split('\n').at(-1)!.trim())).toBe(true);
  });

  it('hash-password refuses an empty password', () => {
    const result = cli(['hash-password'], '\n');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/empty/);
  });

  it('gen-cert writes a certificate and a private key only its owner can read, and will not overwrite them', () => {
    const out = tempDir();
    const first = cli(['gen-cert', '--out', out, '--host', 'mail.internal']);
    expect(first.status).toBe(0);
    expect(statSync(join(out, 'localhost.key')).mode & 0o777).toBe(0o600);
    const text = spawnSync('openssl', ['x509', '-in', join(out, 'localhost.crt'), '-noout', '-text'], { encoding: 'utf8' }).stdout;
    expect(text).toMatch(/DNS:mail\.internal, DNS:localhost, IP Address:127\.0\.0\.1/);
    const again = cli(['gen-cert', '--out', out]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/--force/);
  });

  it('start refuses a wrong config with every problem, the key and the fix, and no secret', () => {
    const config = minimalConfig();
    (config.apps as any).contoso.clientSecret = 'TopSecretValue~123';
    (config.accounts as any).talend.app = 'fabrikam';
    (config.listeners as any) = [{ protocol: 'imap', host: '0.0.0.0', port: 1143 }];
    const dir = tempDir();
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const result = cli(['start', '--config', join(dir, 'config.json')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/accounts\.talend\.app: "fabrikam" is not defined under "apps" \(defined: contoso\)\. Fix: /);
    expect(result.stderr).toMatch(/listeners\[0\]: listens on 0\.0\.0\.0 without TLS.*Fix: set "tls"/);
    expect(result.stderr).not.toContain('TopSecretValue');
  });

  it('says what is wrong with an unknown command or option', () => {
    expect(cli(['frobnicate']).status).toBe(2);
    expect(cli(['start', '--nope']).status).toBe(2);
  });

  it.each(['start', 'demo', 'hash-password', 'gen-cert'])('explains "%s" with --help', (command) => {
    const result = cli([command, '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: o365-mail-proxy ${command}`));
  });
});
