// How the proxy renews a delegated account's sign-in: at client login with the client's
// password (no tokenStore.key), merged for concurrent logins, again when the access token
// nears expiry (rotating the stored refresh token), and what a missing sign-in or a changed
// local password does.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { hashPassword } from '../../src/config/password-hash.js';
import { Secret } from '../../src/config/secret.js';
import { validateConfig } from '../../src/config/validate.js';
import { SignInStore } from '../../src/tokens/signin-store.js';
import { FAST_HASH_PARAMS } from '../helpers/config.js';
import { cliAsync } from '../helpers/cli.js';
import { ACCOUNT, delegatedSetup, UPN, userCodeIn, type DelegatedSetup } from '../helpers/delegated.js';
import { PASSWORD, python, sampleMessage } from '../helpers/stack.js';

let setup: DelegatedSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

async function signedIn(options: Parameters<typeof delegatedSetup>[0] = {}): Promise<DelegatedSetup> {
  setup = await delegatedSetup(options);
  const s = setup;
  const login = await s.login([], { approve: (shown) => s.sandbox.approveDeviceCode(userCodeIn(shown), UPN) });
  expect(login.status).toBe(0);
  return s;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const storeFile = (s: DelegatedSetup) => new SignInStore(`${s.dir}/signins`).fileOf(ACCOUNT);

describe('renewing a delegated sign-in', () => {
  it('starts without a stored sign-in: that account is told to run login, an app-only account on the same proxy works', async () => {
    setup = await delegatedSetup();
    const s = setup;
    const app = s.sandbox.registerApp({});
    s.sandbox.addMailbox('invoices@contoso.test', [sampleMessage('Invoice')]);
    s.sandbox.grantFullAccess('invoices@contoso.test', app.objectId);
    s.raw.apps.contoso = { tenantId: s.sandbox.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, authorityHost: s.sandbox.authorityHost };
    s.raw.accounts.talend = { ...s.raw.accounts[ACCOUNT], mailbox: 'invoices@contoso.test', app: 'contoso', auth: 'app' };
    const stack = await s.startProxy();
    try {
      expect(await stack.proxy.metrics.delegatedSignInValid.value({ account: ACCOUNT })).toBe(0);
      const refused = await python(stack, { client: 'imap', user: ACCOUNT, password: PASSWORD });
      expect(refused.loginError).toMatch(/AUTHENTICATIONFAILED\] no sign-in is stored: run "o365-mail-proxy login me" to sign in again/);
      const pop = await python(stack, { client: 'pop3', user: ACCOUNT, password: PASSWORD });
      expect(JSON.stringify(pop)).toMatch(/-ERR \[AUTH\] no sign-in is stored: run \\"o365-mail-proxy login me\\"/);
      expect((await python(stack, { client: 'imap', user: 'talend', password: PASSWORD })).exists).toBe(1);
    } finally {
      await stack.close();
    }
  });

  it('without tokenStore.key: renews at client login with its password, one refresh for concurrent logins, none for a wrong password', async () => {
    const s = await signedIn();
    const stack = await s.startProxy();
    try {
      const before = s.sandbox.stats.refreshRequests;
      expect((await python(stack, { client: 'imap', user: ACCOUNT, password: 'wrong' })).loginError).toBeDefined();
      expect(s.sandbox.stats.refreshRequests).toBe(before);
      const logins = await Promise.all(Array.from({ length: 6 }, () => python(stack, { client: 'imap', user: ACCOUNT, password: PASSWORD })));
      expect(logins.map((l) => l.exists)).toEqual([2, 2, 2, 2, 2, 2]);
      expect(s.sandbox.stats.refreshRequests).toBe(before + 1);
    } finally {
      await stack.close();
    }
  });

  it('renews the access token when it nears expiry and stores the rotated refresh token each time', async () => {
    const s = await signedIn({ sandbox: { tokenLifetimeSeconds: 2 } });
    const stack = await s.startProxy();
    try {
      const before = s.sandbox.stats.refreshRequests;
      expect((await python(stack, { client: 'imap', user: ACCOUNT, password: PASSWORD })).exists).toBe(2);
      const stored = () => new SignInStore(`${s.dir}/signins`).read(ACCOUNT, { password: new Secret(PASSWORD) });
      const first = (await stored()).signIn.refreshToken.reveal();
      // Half of the 2 s lifetime left: the next login renews.
      await sleep(1_100);
      expect((await python(stack, { client: 'imap', user: ACCOUNT, password: PASSWORD })).exists).toBe(2);
      expect(s.sandbox.stats.refreshRequests).toBe(before + 2);
      const second = (await stored()).signIn.refreshToken.reveal();
      expect(second).not.toBe(first);
      expect((await stored()).signIn.user).toBe(UPN);
      expect(JSON.parse(readFileSync(storeFile(s), 'utf8')).renewedAt).toMatch(/^\d{4}-/);
    } finally {
      await stack.close();
    }
  });

  it('with tokenStore.key: renewed in the background at start, before any client logs in', async () => {
    const s = await signedIn({ storeKey: true });
    const before = s.sandbox.stats.refreshRequests;
    const stack = await s.startProxy({ background: true });
    try {
      await expect.poll(() => s.sandbox.stats.refreshRequests).toBe(before + 1);
      await expect.poll(() => stack.logs.some((line) => line.includes('"event":"signin.renewed"'))).toBe(true);
      expect((await python(stack, { client: 'imap', user: ACCOUNT, password: PASSWORD })).exists).toBe(2);
      expect(s.sandbox.stats.refreshRequests).toBe(before + 1);
    } finally {
      await stack.close();
    }
  });

  it('without tokenStore.key, a failed renewal is noted in the clear: accounts and doctor say why without the password, until the next login', async () => {
    const s = await signedIn();
    s.user.failure = 'revoked';
    const stack = await s.startProxy();
    try {
      expect((await python(stack, { client: 'imap', user: ACCOUNT, password: PASSWORD })).loginError).toMatch(/AADSTS50173/);
      s.user.failure = undefined;
      const accounts = await cliAsync(['accounts', '--config', s.configFile, '--json']);
      expect(JSON.parse(accounts.stdout)[0].signIn).toMatchObject({ state: 'stored', lastFailure: expect.stringMatching(/AADSTS50173.*login me/) });
      const doctor = await cliAsync(['doctor', '--config', s.configFile, '--json']);
      expect(JSON.parse(doctor.stdout).findings.find((f: any) => f.check === `sign-in ${ACCOUNT}`)).toMatchObject({ ok: false, summary: expect.stringContaining('AADSTS50173') });
      // A new `login` while the proxy runs: its status and metric follow before any client logs in.
      expect((await s.login([], { approve: (shown) => s.sandbox.approveDeviceCode(userCodeIn(shown), UPN) })).status).toBe(0);
      expect(stack.proxy.context().signIns.get(ACCOUNT)!.status().state).toBe('stored');
      expect(await stack.proxy.metrics.delegatedSignInValid.value({ account: ACCOUNT })).toBe(1);
    } finally {
      s.user.failure = undefined;
      await stack.close();
    }
  });

  it('a new local password (new passwordHash, reload): the next login with it re-encrypts the sign-in; after a restart only the new password opens it', async () => {
    const s = await signedIn();
    const stack = await s.startProxy();
    const NEW = 'a new local password';
    try {
      expect((await python(stack, { client: 'imap', user: ACCOUNT, password: PASSWORD })).exists).toBe(2);
      s.raw.accounts[ACCOUNT].passwordHash = await hashPassword(new Secret(NEW), FAST_HASH_PARAMS);
      stack.proxy.reload(validateConfig(s.raw, s.dir));
      expect((await python(stack, { client: 'imap', user: ACCOUNT, password: NEW })).exists).toBe(2);
      expect(stack.logs.some((line) => line.includes('"event":"signin.resealed"'))).toBe(true);
    } finally {
      await stack.close();
    }
    const store = new SignInStore(`${s.dir}/signins`);
    expect((await store.read(ACCOUNT, { password: new Secret(NEW) })).signIn.user).toBe(UPN);
    await expect(store.read(ACCOUNT, { password: new Secret(PASSWORD) })).rejects.toThrow(/does not open/);
  });

  it('a new local password set while the proxy was down: the log says the sign-in was sealed with another password and to run login', async () => {
    const s = await signedIn();
    s.raw.accounts[ACCOUNT].passwordHash = await hashPassword(new Secret('another one'), FAST_HASH_PARAMS);
    const stack = await s.startProxy();
    try {
      const seen = await python(stack, { client: 'imap', user: ACCOUNT, password: 'another one' });
      expect(seen.loginError).toMatch(/encrypted with another local password \(changed since\?\): run "o365-mail-proxy login me"/);
      expect(stack.logs.some((line) => line.includes('"event":"signin.fail"') && line.includes('another local password'))).toBe(true);
    } finally {
      await stack.close();
    }
  });
});
