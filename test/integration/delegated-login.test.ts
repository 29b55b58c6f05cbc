// A person signs in once with the built CLI (`login`, device code or --browser), then legacy
// clients with only the local password read and send mail through the proxy.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { curl, python } from '../helpers/stack.js';
import { cliAsync } from '../helpers/cli.js';
import { Secret } from '../../src/config/secret.js';
import { SignInStore } from '../../src/tokens/signin-store.js';
import { ACCOUNT, delegatedSetup, UPN, userCodeIn, type DelegatedSetup } from '../helpers/delegated.js';
import { PASSWORD, sampleMessage } from '../helpers/stack.js';

let setup: DelegatedSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

const message = (subject: string) => `From: ${UPN}\r\nTo: bob@contoso.test\r\nSubject: ${subject}\r\n\r\nSent with a delegated sign-in.\r\n`;

describe('delegated sign-in, end to end', () => {
  it('login by device code shows Entra\'s own prompt, who signed in and the scopes; then imaplib and curl work with the local password', async () => {
    setup = await delegatedSetup();
    const s = setup;
    const login = await s.login([], { approve: (shown) => s.sandbox.approveDeviceCode(userCodeIn(shown), UPN) });
    expect(login.stderr).toBe('');
    expect(login.status).toBe(0);
    const code = userCodeIn(login.stdout);
    expect(login.stdout).toContain(`To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ${code} to authenticate.\nURL: https://microsoft.com/devicelogin\nCode: ${code}\n`);
    expect(login.stdout).toContain(`Signed in as ${UPN}\n`);
    expect(login.stdout).toMatch(/Granted: .*IMAP\.AccessAsUser\.All/);

    // The store: owner-only, and no token or user name in it.
    const store = join(s.dir, 'signins');
    expect(statSync(store).mode & 0o777).toBe(0o700);
    const [file] = readdirSync(store);
    expect(statSync(join(store, file!)).mode & 0o777).toBe(0o600);
    const text = readFileSync(join(store, file!), 'utf8');
    const { signIn } = await new SignInStore(store).read(ACCOUNT, { password: new Secret(PASSWORD) });
    expect(text).not.toContain(signIn.refreshToken.reveal());
    expect(text).not.toContain(UPN);

    // Without the store key the doctor cannot open the sign-in; that is no failure.
    const doctor = await cliAsync(['doctor', '--config', s.configFile, '--json']);
    expect(JSON.parse(doctor.stdout).findings.find((f: any) => f.check === `sign-in ${ACCOUNT}`)).toMatchObject({ ok: true, summary: expect.stringMatching(/^a sign-in is stored, last renewed 20/) });
    expect(doctor.status).toBe(0);
    s.sandbox.addMailbox('bob@contoso.test');
    const stack = await s.startProxy();
    try {
      const seen = await python(stack, { client: 'imap', user: ACCOUNT, password: PASSWORD });
      expect(seen.loginError).toBeUndefined();
      expect(seen.exists).toBe(2);
      const sent = await curl(['--user', `${ACCOUNT}:${PASSWORD}`, '--mail-from', UPN, '--mail-rcpt', 'bob@contoso.test', '--upload-file', '-', `smtp://127.0.0.1:${stack.port('smtp')}`], Buffer.from(message('delegated curl')));
      expect(sent.stderr).toBe('');
      expect(sent.code).toBe(0);
      expect(s.sandbox.messages('bob@contoso.test').map(String).join('')).toContain('delegated curl');
    } finally {
      await stack.close();
    }
  });

  it('signs in through the multi-tenant "organizations" authority, as a public client registered for any work account', async () => {
    setup = await delegatedSetup({ tenant: 'organizations' });
    const s = setup;
    const login = await s.login([], { approve: (shown) => s.sandbox.approveDeviceCode(userCodeIn(shown), UPN) });
    expect(login.stderr).toBe('');
    expect(login.status).toBe(0);
    const stack = await s.startProxy();
    try {
      expect((await python(stack, { client: 'imap', user: ACCOUNT, password: PASSWORD })).exists).toBe(2);
    } finally {
      await stack.close();
    }
  });

  it('refuses a sign-in by someone else than the account\'s mailbox, unless that person can open it (a shared mailbox)', async () => {
    setup = await delegatedSetup({ mailbox: 'shared@contoso.test' });
    const s = setup;
    s.sandbox.addMailbox('shared@contoso.test', [sampleMessage('Shared')]);
    const refused = await s.login([], { approve: (shown) => s.sandbox.approveDeviceCode(userCodeIn(shown), UPN) });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/refused: ada@contoso\.test signed in, but accounts\.me\.mailbox is shared@contoso\.test, which ada@contoso\.test cannot open .*Nothing was stored/);
    expect(existsSync(join(s.dir, 'signins'))).toBe(false);
    s.sandbox.grantFullAccess('shared@contoso.test', s.user.objectId);
    const allowed = await s.login([], { approve: (shown) => s.sandbox.approveDeviceCode(userCodeIn(shown), UPN) });
    expect(allowed.status).toBe(0);
    expect(allowed.stdout).toContain('ada@contoso.test is not shared@contoso.test, but can open it (a shared mailbox)');
    const stack = await s.startProxy();
    try {
      expect((await python(stack, { client: 'imap', user: ACCOUNT, password: PASSWORD })).exists).toBe(1);
    } finally {
      await stack.close();
    }
  });

  it('asks for the account\'s local password first and refuses a wrong one before any sign-in', async () => {
    setup = await delegatedSetup();
    const before = setup.sandbox.stats.deviceCodeRequests;
    const login = await setup.login([], { stdin: 'not the password\n' });
    expect(login.status).toBe(2);
    expect(login.stderr).toContain('that is not the local password of me');
    expect(setup.sandbox.stats.deviceCodeRequests).toBe(before);
  });

  it('a login killed between writing the new sign-in and renaming it over the old one leaves the old one working', async () => {
    setup = await delegatedSetup();
    const s = setup;
    expect((await s.login([], { approve: (shown) => s.sandbox.approveDeviceCode(userCodeIn(shown), UPN) })).status).toBe(0);
    const killed = await s.login([], {
      approve: (shown) => s.sandbox.approveDeviceCode(userCodeIn(shown), UPN),
      env: { O365P_TEST_PAUSE_STORE_WRITE: '1' },
      killWhen: /store write paused before rename/,
    });
    expect(killed.status).toBeNull();
    expect(readdirSync(join(s.dir, 'signins')).some((name) => name.endsWith('.tmp'))).toBe(true);
    const stack = await s.startProxy();
    try {
      expect((await python(stack, { client: 'imap', user: ACCOUNT, password: PASSWORD })).exists).toBe(2);
    } finally {
      await stack.close();
    }
  });

  it('login --browser: the authorization code comes back to 127.0.0.1 with PKCE; the test plays the browser', async () => {
    setup = await delegatedSetup();
    const s = setup;
    s.sandbox.setBrowserUser(UPN);
    let page = '';
    const login = await s.login(['--browser'], {
      async approve(shown) {
        const url = /^(https:\S+authorize\S+)$/m.exec(shown)![1]!;
        expect(new URL(url).searchParams.get('code_challenge_method')).toBe('S256');
        // The authorize endpoint redirects to the loopback listener, as a browser would follow.
        const redirect = await curl(['--cacert', join(s.dir, 'sandbox-ca.pem'), '--location', url]);
        page = redirect.stdout.toString();
      },
    });
    expect(login.stderr).toBe('');
    expect(login.status).toBe(0);
    expect(page).toContain('Signed in.');
    expect(login.stdout).toContain(`Signed in as ${UPN}\n`);
    const stack = await s.startProxy();
    try {
      expect((await python(stack, { client: 'imap', user: ACCOUNT, password: PASSWORD })).exists).toBe(2);
    } finally {
      await stack.close();
    }
  });
});
