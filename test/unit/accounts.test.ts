import { describe, expect, it } from 'vitest';
import { AccountDirectory } from '../../src/auth/accounts.js';
import type { AccountConfig } from '../../src/config/types.js';
import { PasswordCheckQueue } from '../../src/auth/password-check-queue.js';
import { hashPassword, isPasswordHash, verifyPassword } from '../../src/config/password-hash.js';
import { Secret } from '../../src/config/secret.js';
import { FAST_HASH_PARAMS } from '../helpers/config.js';

async function directory(): Promise<AccountDirectory> {
  const account = (username: string, password: string, protocols: AccountConfig['protocols'] = ['imap', 'pop3', 'smtp']) =>
    hashPassword(new Secret(password), FAST_HASH_PARAMS).then((passwordHash): [string, AccountConfig] => [
      username.toLowerCase(), { username, passwordHash, mailbox: 'invoices@contoso.com', app: 'contoso', protocols, auth: 'app', smtpVia: 'smtp' },
    ]);
  return new AccountDirectory(new Map(await Promise.all([account('Talend', 'right password'), account('scanner', 'scan', ['smtp'])])), new PasswordCheckQueue(2, 10, 10));
}

const login = (username: string, password: string, authzid?: string) => ({ username, password: new Secret(password), ...(authzid ? { authzid } : {}) });

describe('password hashes', () => {
  it('verifies the right password and only that one', async () => {
    const hash = await hashPassword(new Secret('pä ss "w\\rd'), FAST_HASH_PARAMS);
    expect(isPasswordHash(hash)).toBe(true);
    expect(hash).not.toContain('pä ss');
    expect(await verifyPassword(new Secret('pä ss "w\\rd'), hash)).toBe(true);
    expect(await verifyPassword(new Secret('pä ss "w\\rd '), hash)).toBe(false);
  });

  it('does not match the password with NULs after it (scrypt would: HMAC pads short keys with zeros)', async () => {
    const hash = await hashPassword(new Secret('pä ss "w\\rd'), FAST_HASH_PARAMS);
    expect(await verifyPassword(new Secret('pä ss "w\\rd\0'), hash)).toBe(false);
    expect(await verifyPassword(new Secret('pä ss "w\\rd\0\0'), hash)).toBe(false);
    expect(await verifyPassword(new Secret('pä ss "w\\rd'), hash)).toBe(true);
  });

  it('uses a fresh salt each time', async () => {
    const password = new Secret('same');
    expect(await hashPassword(password, FAST_HASH_PARAMS)).not.toBe(await hashPassword(password, FAST_HASH_PARAMS));
  });
});

describe('account directory', () => {
  it('accepts the right password, with the username in any case', async () => {
    const accounts = await directory();
    expect(await accounts.check(login('talend', 'right password'), 'imap')).toMatchObject({ ok: true, account: { username: 'Talend' } });
    expect(await accounts.check(login('TALEND', 'right password'), 'imap')).toMatchObject({ ok: true });
  });

  it('tells wrong password, unknown user and forbidden protocol apart (for the log)', async () => {
    const accounts = await directory();
    expect(await accounts.check(login('Talend', 'wrong'), 'imap')).toEqual({ ok: false, reason: 'wrong-password' });
    expect(await accounts.check(login('nobody', 'x'), 'imap')).toEqual({ ok: false, reason: 'unknown-user' });
    expect(await accounts.check(login('scanner', 'scan'), 'imap')).toEqual({ ok: false, reason: 'protocol-not-allowed' });
    expect(await accounts.check(login('scanner', 'scan'), 'smtp')).toMatchObject({ ok: true });
  });

  it('checks the password again after a success (no trust on first use)', async () => {
    const accounts = await directory();
    expect(await accounts.check(login('Talend', 'right password'), 'imap')).toMatchObject({ ok: true });
    expect(await accounts.check(login('Talend', 'right passwor'), 'imap')).toEqual({ ok: false, reason: 'wrong-password' });
  });

  it('accepts an authzid naming the mailbox and refuses any other', async () => {
    const accounts = await directory();
    expect(await accounts.check(login('Talend', 'right password', 'Invoices@Contoso.com'), 'imap')).toMatchObject({ ok: true });
    expect(await accounts.check(login('Talend', 'right password', 'ceo@contoso.com'), 'imap')).toEqual({ ok: false, reason: 'authzid-mismatch' });
  });

  it('spends as long on an unknown username as on a known one, whatever scrypt cost the hashes use', async () => {
    // Before: unknown usernames were checked against a hash at the default cost (ln=15, ~200 ms),
    // known ones at theirs (ln=10 here, ~5 ms): timing told which usernames exist.
    const accounts = await directory();
    const median = async (username: string) => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        await accounts.check(login(username, 'wrong password'), 'imap');
        times.push(performance.now() - started);
      }
      return times.sort((a, b) => a - b)[2]!;
    };
    await median('nobody');
    const known = await median('talend');
    const unknown = await median('nobody');
    expect(unknown).toBeLessThan(known * 4 + 20);
  });
});
