import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Secret } from '../../src/config/secret.js';
import { SignInStore, SignInStoreError, type SignIn } from '../../src/tokens/signin-store.js';
import { tempDir } from '../helpers/config.js';

const KEY = new Secret('q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng=');
const OTHER_KEY = new Secret('AAAAEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng=');
const REFRESH = '0.ARoAv4j5cvGGr0GRqy180BHbR-refresh-token-text';

function signIn(refreshToken = REFRESH): SignIn {
  return { refreshToken: new Secret(refreshToken), user: 'me@contoso.com', scopes: 'IMAP.AccessAsUser.All offline_access', clientId: '3f2a9c4e-8b1d-4e7f-a6c5-0d9e8f7a6b5c', authority: 'https://login.microsoftonline.com/organizations' };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error instanceof SignInStoreError ? error.failure : error;
  }
  throw new Error('expected a failure');
}

describe('sign-in store', () => {
  it('keeps a sign-in that only the token store key opens, in an owner-only folder and file, with no token text in it', async () => {
    const store = new SignInStore(join(tempDir(), 'state', 'o365-mail-proxy'));
    await store.write('Me', signIn(), { key: KEY });
    const file = store.fileOf('me');
    expect(statSync(store.dir).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('refresh-token-text');
    expect(text).not.toContain('me@contoso.com');
    expect(JSON.parse(text).renewedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const { signIn: back } = await store.read('me', { key: KEY });
    expect(back.refreshToken.reveal()).toBe(REFRESH);
    expect(back.user).toBe('me@contoso.com');
    expect(await failure(store.read('me', { key: OTHER_KEY }))).toEqual({ kind: 'locked', detail: 'the token store key does not open it', sealedWith: 'key' });
    expect(await failure(store.read('me', { password: new Secret('right password') }))).toMatchObject({ kind: 'locked', sealedWith: 'key' });
  });

  it('seals with the account\'s local password when there is no key: the wrong password does not open it, nor does another account\'s name', async () => {
    const store = new SignInStore(tempDir());
    await store.write('me', signIn(), { password: new Secret('right password') });
    expect(readFileSync(store.fileOf('me'), 'utf8')).not.toContain('refresh-token-text');
    expect((await store.read('me', { password: new Secret('right password') })).signIn.refreshToken.reveal()).toBe(REFRESH);
    expect(await failure(store.read('me', { password: new Secret('wrong password') }))).toEqual({ kind: 'locked', detail: 'the password does not open it', sealedWith: 'password' });
    // The same file under another account's name: the account is authenticated with the data.
    writeFileSync(store.fileOf('you'), readFileSync(store.fileOf('me')));
    expect(await failure(store.read('you', { password: new Secret('right password') }))).toMatchObject({ kind: 'locked' });
  });

  it('tells a missing sign-in from a damaged file, and logout removes it', async () => {
    const store = new SignInStore(tempDir());
    expect(await failure(store.read('me', { key: KEY }))).toEqual({ kind: 'missing' });
    writeFileSync(store.fileOf('me'), '{"half": ');
    expect(await failure(store.read('me', { key: KEY }))).toMatchObject({ kind: 'damaged' });
    expect(store.remove('me')).toBe(true);
    expect(store.remove('me')).toBe(false);
  });

  it('a process killed between writing the new sign-in and renaming it leaves the old one readable', async () => {
    const store = new SignInStore(tempDir());
    await store.write('me', signIn('old-refresh-token'), { key: KEY });
    const module = new URL('../../dist/tokens/signin-store.js', import.meta.url).href;
    const secretModule = new URL('../../dist/config/secret.js', import.meta.url).href;
    const script = `const { SignInStore } = await import(${JSON.stringify(module)}); const { Secret } = await import(${JSON.stringify(secretModule)});
      await new SignInStore(${JSON.stringify(store.dir)}).write('me', { refreshToken: new Secret('new-refresh-token'), user: 'me@contoso.com', scopes: '', clientId: 'x', authority: 'y' }, { key: new Secret(${JSON.stringify(KEY.reveal())}) });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, O365P_TEST_PAUSE_STORE_WRITE: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let said = '';
      child.stderr.on('data', (chunk: Buffer) => {
        said += chunk.toString();
        if (said.includes('store write paused before rename')) resolve();
      });
      child.on('exit', () => reject(new Error(`exited before the pause: ${said}`)));
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(readdirSync(store.dir).some((name) => name.endsWith('.tmp'))).toBe(true);
    expect((await store.read('me', { key: KEY })).signIn.refreshToken.reveal()).toBe('old-refresh-token');
    await store.write('me', signIn('newer-refresh-token'), { key: KEY });
    expect((await store.read('me', { key: KEY })).signIn.refreshToken.reveal()).toBe('newer-refresh-token');
  });
});
