import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { minimalConfig, tempDir } from '../helpers/config.js';
import { cli } from '../helpers/cli.js';

const HASH = 'scrypt:ln=10,r=8,p=1:c2FsdA==:aGFzaA==';

function writeConfig(overrides: Record<string, unknown>): string {
  const file = join(tempDir(), 'config.json');
  writeFileSync(file, JSON.stringify(minimalConfig(overrides)));
  return file;
}

describe('accounts', () => {
  // The app's secret comes from a variable this shell does not have, as in an admin's shell.
  const apps = { contoso: { tenantId: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', clientSecret: '${env:O365P_TEST_NEVER_SET}' } };
  const accounts = {
    talend: { passwordHash: HASH, mailbox: 'invoices@contoso.com', app: 'contoso', protocols: ['imap', 'smtp'] },
    Scanner: { passwordHash: HASH, mailbox: 'scans@contoso.com', app: 'contoso', protocols: ['smtp'] },
    fetch: { passwordHash: HASH, mailbox: 'invoices@contoso.com', app: 'contoso' },
  };

  it('lists accounts with mailbox, app and protocols as a table, without the service\'s secrets and without hashes', () => {
    const result = cli(['accounts', '--config', writeConfig({ apps, accounts })]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe([
      'ACCOUNT  MAILBOX               APP      PROTOCOLS',
      'fetch    invoices@contoso.com  contoso  imap,pop3,smtp',
      'Scanner  scans@contoso.com     contoso  smtp',
      'talend   invoices@contoso.com  contoso  imap,smtp',
      '',
    ].join('\n'));
  });

  it('prints the same as JSON with --json', () => {
    const result = cli(['accounts', '--config', writeConfig({ apps, accounts }), '--json']);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      { username: 'fetch', mailbox: 'invoices@contoso.com', app: 'contoso', protocols: ['imap', 'pop3', 'smtp'] },
      { username: 'Scanner', mailbox: 'scans@contoso.com', app: 'contoso', protocols: ['smtp'] },
      { username: 'talend', mailbox: 'invoices@contoso.com', app: 'contoso', protocols: ['imap', 'smtp'] },
    ]);
    expect(result.stdout).not.toContain('scrypt');
  });

  it('refuses a broken account section with the key and the fix (exit 2)', () => {
    const result = cli(['accounts', '--config', writeConfig({ apps, accounts: { talend: { ...accounts.talend, app: 'fabrikam' } } })]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/accounts\.talend\.app: "fabrikam" is not defined under "apps" \(defined: contoso\)\. Fix: /);
  });
});
