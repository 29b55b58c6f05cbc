import { copyFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkConfigFile } from '../../src/cli/check-config.js';
import { generateSelfSignedCertificate } from '../../src/ops/self-signed-certificate.js';
import { minimalConfig, tempDir } from '../helpers/config.js';
import { cli } from '../helpers/cli.js';

const EXAMPLE = fileURLToPath(new URL('../../config.example.json', import.meta.url));

/** A config with a TLS listener and its own certificate, written to a fresh folder; returns the file. */
async function configWithCertificate(overrides: Record<string, unknown> = {}, keyFrom?: { keyPem: string }): Promise<string> {
  const cert = await generateSelfSignedCertificate();
  const dir = tempDir({ 'local.crt': cert.certPem, 'local.key': (keyFrom ?? cert).keyPem });
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(minimalConfig({ listeners: [{ protocol: 'imap', port: 0, tls: 'implicit' }], tls: { certFile: 'local.crt', keyFile: 'local.key' }, ...overrides })));
  return file;
}

describe('check-config', () => {
  it('passes a config that would start, without contacting the token endpoint and without binding its ports', async () => {
    // A "token endpoint" that counts connections, and the listener's port held by someone else.
    let contacted = 0;
    const watcher = createServer((socket) => {
      contacted++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => watcher.listen(0, '127.0.0.1', resolve));
    const port = (watcher.address() as { port: number }).port;
    try {
      const file = await configWithCertificate({ listeners: [{ protocol: 'imap', port, tls: 'implicit' }] });
      const config = JSON.parse((await import('node:fs')).readFileSync(file, 'utf8'));
      config.apps.contoso.authorityHost = `https://127.0.0.1:${port}`;
      writeFileSync(file, JSON.stringify(config));
      const result = cli(['check-config', '--config', file]);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(`${file}: OK (1 app registration, 1 account, 1 listener)\n`);
      expect(result.status).toBe(0);
      expect(contacted).toBe(0);
    } finally {
      watcher.close();
    }
  });

  it('fails config.example.json as shipped, naming the unset secret and the missing certificate (exit 1)', () => {
    const dir = tempDir();
    copyFileSync(EXAMPLE, join(dir, 'config.json'));
    const env = { ...process.env };
    delete env.CONTOSO_CLIENT_SECRET;
    const result = cli(['check-config', '--config', join(dir, 'config.json')], undefined, { env });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/apps\.contoso\.clientSecret: environment variable CONTOSO_CLIENT_SECRET is not set/);
    expect(result.stdout).toMatch(/tls\.certFile: cannot read .*localhost\.crt \(ENOENT\)\. Fix: run "o365-mail-proxy gen-cert"/);
  });

  // The example's all-zero tenant, placeholder client ID and example hashes are refused by the
  // config validator itself, so check-config and start agree.
  it('fails config.example.json even with the secret set and certificates made: its IDs and hashes are placeholders', () => {
    const dir = tempDir();
    copyFileSync(EXAMPLE, join(dir, 'config.json'));
    expect(cli(['gen-cert', '--out', join(dir, 'certs')]).status).toBe(0);
    const result = cli(['check-config', '--config', join(dir, 'config.json')], undefined, { env: { ...process.env, CONTOSO_CLIENT_SECRET: 'abc~secret.value' } });
    expect(result.stdout).toMatch(/apps\.contoso\.tenantId: .*placeholder/i);
    expect(result.stdout).toMatch(/apps\.contoso\.clientId: .*placeholder/i);
    expect(result.stdout).toMatch(/accounts\.talend\.passwordHash: .*(placeholder|example)/i);
    expect(result.status).toBe(1);
  });

  it('fails a key that does not belong to the certificate, which start would only find while opening its listeners', async () => {
    const other = await generateSelfSignedCertificate();
    const file = await configWithCertificate({}, other);
    const check = cli(['check-config', '--config', file, '--json']);
    expect(check.status).toBe(1);
    const report = JSON.parse(check.stdout) as { ok: boolean; problems: { key: string; problem: string; fix: string }[] };
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([expect.objectContaining({ key: 'tls.keyFile', problem: expect.stringMatching(/OpenSSL refuses it/), fix: expect.stringMatching(/gen-cert --force/) })]);
    // start agrees: it fails too (before it binds anything).
    expect(cli(['start', '--config', file, '--log-level', 'silent']).status).toBe(1);
  });

  it('fails an expired local certificate and warns about one that expires within 30 days', async () => {
    const file = await configWithCertificate();
    const day = 86_400_000;
    const soon = checkConfigFile(file, Date.now() + 810 * day);
    expect(soon.ok).toBe(true);
    expect(soon.warnings).toEqual([expect.stringMatching(/^tls\.certFile is valid until .* \(14 days\)\. Fix: run "o365-mail-proxy gen-cert --force"/)]);
    const late = checkConfigFile(file, Date.now() + 830 * day);
    expect(late.ok).toBe(false);
    expect(late.problems).toEqual([expect.objectContaining({ key: 'tls.certFile', problem: expect.stringMatching(/expired on/) })]);
  });
});
