import { describe, expect, it } from 'vitest';
import { validateConfig, ConfigError } from '../../src/config/validate.js';
import { defaultTokenStoreDir } from '../../src/config/token-store.js';
import { minimalConfig, tempDir } from '../helpers/config.js';

const KEY = 'q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng=';

function problems(raw: unknown, dir = tempDir()): { key: string; problem: string; fix: string }[] {
  try {
    validateConfig(raw, dir);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

/** An app without a credential, used by one delegated account. */
function delegatedConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return minimalConfig({
    apps: { mine: { tenantId: 'organizations', clientId: '3f2a9c4e-8b1d-4e7f-a6c5-0d9e8f7a6b5c' } },
    accounts: { me: { passwordHash: 'scrypt:ln=10,r=8,p=1:c2FsdA==:aGFzaA==', mailbox: 'me@contoso.com', app: 'mine', auth: 'delegated' } },
    ...overrides,
  });
}

describe('config for delegated sign-in', () => {
  it('accepts an app without secret or certificate (a public client) and a multi-tenant authority when only delegated accounts use it', () => {
    const config = validateConfig(delegatedConfig(), tempDir());
    expect(config.apps.get('mine')!.credential).toEqual({ kind: 'none' });
    expect(config.apps.get('mine')!.tenantId).toBe('organizations');
    expect(config.accounts.get('me')!.auth).toBe('delegated');
    expect(config.tokenStore.key).toBeUndefined();
  });

  it('defaults auth to "app", and an app-only account still needs the credential and a real tenant', () => {
    expect(validateConfig(minimalConfig(), tempDir()).accounts.get('talend')!.auth).toBe('app');
    const raw = delegatedConfig();
    (raw.accounts as any).job = { passwordHash: 'scrypt:ln=10,r=8,p=1:c2FsdA==:aGFzaA==', mailbox: 'job@contoso.com', app: 'mine' };
    expect(problems(raw)).toEqual([
      { key: 'apps.mine.tenantId', problem: '"organizations" does not work with the client-credentials flow', fix: expect.any(String) },
      { key: 'apps.mine', problem: 'has neither clientSecret nor certificate, which accounts.job (auth "app") need', fix: expect.stringContaining('"auth": "delegated"') },
    ]);
  });

  it('refuses an unknown auth mode, naming the two there are', () => {
    const raw = delegatedConfig();
    (raw.accounts as any).me.auth = 'oauth';
    expect(problems(raw)).toContainEqual({ key: 'accounts.me.auth', problem: '"oauth" is not allowed', fix: 'use one of: app, delegated' });
  });

  it('refuses smtpVia graph or auto for a delegated account: Graph sending needs the app\'s own access', () => {
    for (const smtpVia of ['graph', 'auto']) {
      const raw = delegatedConfig();
      (raw.accounts as any).me.smtpVia = smtpVia;
      expect(problems(raw)).toEqual([{ key: 'accounts.me.smtpVia', problem: expect.stringContaining('auth "delegated"'), fix: expect.stringContaining('remove smtpVia') }]);
    }
  });

  it('keeps the token store in the per-user state folder unless tokenStore.dir says where (relative to the config file)', () => {
    expect(defaultTokenStoreDir({ XDG_STATE_HOME: '/x/state' }, 'linux', '/home/me')).toBe('/x/state/o365-mail-proxy');
    expect(defaultTokenStoreDir({}, 'linux', '/home/me')).toBe('/home/me/.local/state/o365-mail-proxy');
    expect(defaultTokenStoreDir({ LOCALAPPDATA: 'C:\\Users\\me\\AppData\\Local' }, 'win32', 'C:\\Users\\me')).toMatch(/^C:\\Users\\me\\AppData\\Local[\\/]o365-mail-proxy$/);
    const dir = tempDir();
    expect(validateConfig(delegatedConfig({ tokenStore: { dir: 'signins' } }), dir).tokenStore.dir).toBe(`${dir}/signins`);
  });

  it('takes tokenStore.key only as a reference to 32 bytes, and says how to make one', () => {
    process.env.O365P_TEST_STORE_KEY = KEY;
    const config = validateConfig(delegatedConfig({ tokenStore: { key: '${env:O365P_TEST_STORE_KEY}' } }), tempDir());
    expect(Buffer.from(config.tokenStore.key!.reveal(), 'base64')).toHaveLength(32);
    expect(problems(delegatedConfig({ tokenStore: { key: KEY } }))).toEqual([
      { key: 'tokenStore.key', problem: 'is written into the config file itself', fix: expect.stringContaining('openssl rand -base64 32') },
    ]);
    process.env.O365P_TEST_STORE_KEY = 'short';
    expect(problems(delegatedConfig({ tokenStore: { key: '${env:O365P_TEST_STORE_KEY}' } }))).toEqual([
      { key: 'tokenStore.key', problem: 'is not 32 bytes in base64 or hex', fix: expect.stringContaining('openssl rand -base64 32') },
    ]);
    delete process.env.O365P_TEST_STORE_KEY;
  });
});
