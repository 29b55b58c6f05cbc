import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { minimalConfig, tempDir } from '../helpers/config.js';
import { cli } from '../helpers/cli.js';
import { Secret } from '../../src/config/secret.js';
import { SignInStore } from '../../src/tokens/signin-store.js';

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
    Scanner: { passwordHash: HASH, mailbox: 'scans@contoso.com', app: 'contoso', protocols: ['smtp'], smtpVia: 'graph' },
    reader: { passwordHash: HASH, mailbox: 'invoices@contoso.com', app: 'contoso', protocols: ['pop3'] },
    fetch: { passwordHash: HASH, mailbox: 'invoices@contoso.com', app: 'contoso' },
  };

  it('lists accounts with mailbox, app, protocols and how their mail leaves as a table, without the service\'s secrets and without hashes', () => {
    const result = cli(['accounts', '--config', writeConfig({ apps, accounts })]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe([
      'ACCOUNT  MAILBOX               APP      PROTOCOLS       SMTP VIA  AUTH  SIGN-IN',
      'fetch    invoices@contoso.com  contoso  imap,pop3,smtp  smtp      app   -',
      'reader   invoices@contoso.com  contoso  pop3            -         app   -',
      'Scanner  scans@contoso.com     contoso  smtp            graph     app   -',
      'talend   invoices@contoso.com  contoso  imap,smtp       smtp      app   -',
      '',
    ].join('\n'));
  });

  it('prints the same as JSON with --json', () => {
    const result = cli(['accounts', '--config', writeConfig({ apps, accounts }), '--json']);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      { username: 'fetch', mailbox: 'invoices@contoso.com', app: 'contoso', protocols: ['imap', 'pop3', 'smtp'], smtpVia: 'smtp', auth: 'app' },
      { username: 'reader', mailbox: 'invoices@contoso.com', app: 'contoso', protocols: ['pop3'], auth: 'app' },
      { username: 'Scanner', mailbox: 'scans@contoso.com', app: 'contoso', protocols: ['smtp'], smtpVia: 'graph', auth: 'app' },
      { username: 'talend', mailbox: 'invoices@contoso.com', app: 'contoso', protocols: ['imap', 'smtp'], smtpVia: 'smtp', auth: 'app' },
    ]);
    expect(result.stdout).not.toContain('scrypt');
  });

  it('shows for delegated accounts whether a sign-in is stored and when it was renewed, without the store key or password', async () => {
    const dir = tempDir();
    const store = new SignInStore(join(dir, 'signins'));
    await store.write('me', { refreshToken: new Secret('rt'), user: 'me@contoso.com', scopes: '', clientId: 'x', authority: 'y' }, { key: new Secret('q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng=') }, new Date('2026-11-29T10:00:00.000Z'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(minimalConfig({
      apps: { mine: { tenantId: 'organizations', clientId: '3f2a9c4e-8b1d-4e7f-a6c5-0d9e8f7a6b5c' } },
      accounts: { me: { passwordHash: HASH, mailbox: 'me@contoso.com', app: 'mine', auth: 'delegated' }, you: { passwordHash: HASH, mailbox: 'you@contoso.com', app: 'mine', auth: 'delegated' } },
      tokenStore: { dir: 'signins', key: '${env:O365P_TEST_NEVER_SET}' },
    })));
    const result = cli(['accounts', '--config', file, '--json']);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([
      { username: 'me', mailbox: 'me@contoso.com', app: 'mine', protocols: ['imap', 'pop3', 'smtp'], smtpVia: 'smtp', auth: 'delegated', signIn: { state: 'stored', renewedAt: '2026-11-29T10:00:00.000Z' } },
      { username: 'you', mailbox: 'you@contoso.com', app: 'mine', protocols: ['imap', 'pop3', 'smtp'], smtpVia: 'smtp', auth: 'delegated', signIn: { state: 'none' } },
    ]);
    expect(cli(['accounts', '--config', file]).stdout).toContain('none: run o365-mail-proxy login you');
  });

  it('refuses a broken account section with the key and the fix (exit 2)', () => {
    const result = cli(['accounts', '--config', writeConfig({ apps, accounts: { talend: { ...accounts.talend, app: 'fabrikam' } } })]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/accounts\.talend\.app: "fabrikam" is not defined under "apps" \(defined: contoso\)\. Fix: /);
  });
});
