// Nothing of a person's sign-in reaches a log line or the terminal: not the refresh token, not
// an access token, not the local password that seals the store, at the most verbose level.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { SignInStore } from '../../src/tokens/signin-store.js';
import { ACCOUNT, delegatedSetup, UPN, userCodeIn, type DelegatedSetup } from '../helpers/delegated.js';
import { PASSWORD, python } from '../helpers/stack.js';

let setup: DelegatedSetup;
beforeAll(async () => {
  setup = await delegatedSetup({ sandbox: { tokenLifetimeSeconds: 2 } });
});
afterAll(() => setup?.close());

describe('delegated sign-in and secrets', () => {
  it('no refresh token, access token or password in the login command\'s output or the proxy\'s trace log, renewals and failures included', async () => {
    const login = await setup.login([], { approve: (shown) => setup.sandbox.approveDeviceCode(userCodeIn(shown), UPN) });
    expect(login.status).toBe(0);
    const store = new SignInStore(`${setup.dir}/signins`);
    const refreshTokens = [(await store.read(ACCOUNT, { password: new Secret(PASSWORD) })).signIn.refreshToken.reveal()];
    const stack = await setup.startProxy({ logLevel: 'trace' });
    try {
      expect((await python(stack, { client: 'imap', user: ACCOUNT, password: PASSWORD })).exists).toBe(2);
      refreshTokens.push((await store.read(ACCOUNT, { password: new Secret(PASSWORD) })).signIn.refreshToken.reveal());
      await python(stack, { client: 'smtp', user: ACCOUNT, password: PASSWORD, auth: 'PLAIN', messages: [{ from: UPN, to: [UPN], text: 'Subject: x\r\n\r\ny\r\n' }] });
      setup.user.failure = 'revoked';
      await new Promise((resolve) => setTimeout(resolve, 1_100)); // half the 2 s token lifetime: the next login renews
      expect((await python(stack, { client: 'imap', user: ACCOUNT, password: PASSWORD })).loginError).toMatch(/AADSTS50173/);
    } finally {
      setup.user.failure = undefined;
      await stack.close();
    }
    const everything = `${stack.logs.join('\n')}\n${login.stdout}\n${login.stderr}`;
    expect(stack.logs.some((line) => line.includes('"event":"signin.renewed"'))).toBe(true);
    expect(everything.match(/eyJ[\w-]{10,}\.[\w-]{10,}/)).toBeNull();
    for (const secret of [...refreshTokens, PASSWORD, 'auth=Bearer']) expect(everything).not.toContain(secret);
    expect(refreshTokens[0]).not.toBe(refreshTokens[1]);
  });
});
