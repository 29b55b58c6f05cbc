// When a stored sign-in stops working (Entra's AADSTS answers to a refresh), every place a
// person looks says so and names `login <account>`: the mail client's error, the log, /readyz,
// doctor and the metric. The other accounts are not affected, and a new sign-in cures it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { startAdminServer } from '../../src/listen/admin.js';
import type { SignInFailure } from '../../src/sandbox/index.js';
import { cliAsync } from '../helpers/cli.js';
import { ACCOUNT, delegatedSetup, UPN, userCodeIn, type DelegatedSetup } from '../helpers/delegated.js';
import { PASSWORD, python } from '../helpers/stack.js';

let setup: DelegatedSetup;
beforeAll(async () => {
  setup = await delegatedSetup({ storeKey: true });
  const login = await setup.login([], { approve: (shown) => setup.sandbox.approveDeviceCode(userCodeIn(shown), UPN) });
  expect(login.status).toBe(0);
});
afterAll(() => setup?.close());

async function readyz(admin: Server): Promise<{ status: number; body: any }> {
  const port = (admin.address() as { port: number }).port;
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: response.status, body: await response.json() };
}

const FAILURES: [SignInFailure | 'public-client-off', string][] = [
  ['expired', '70008'], ['inactive', '700082'], ['revoked', '50173'], ['mfa-required', '50076'],
  ['mfa-enrollment-required', '50079'], ['conditional-access', '53003'], ['consent-withdrawn', '65001'], ['public-client-off', '7000218'],
];

describe('a delegated sign-in that stopped working', () => {
  it.each(FAILURES)('%s (AADSTS%s): client error, log line, /readyz, doctor and metric all name "login me"', async (failure, code) => {
    if (failure === 'public-client-off') setup.app.allowPublicClient = false;
    else setup.user.failure = failure;
    const stack = await setup.startProxy();
    const admin = await startAdminServer(stack.proxy, { host: '127.0.0.1', port: 0 }, stack.proxy.context().log);
    try {
      const seen = await python(stack, { client: 'imap', user: ACCOUNT, password: PASSWORD });
      expect(seen.loginError).toMatch(new RegExp(`AUTHENTICATIONFAILED.*AADSTS${code}.*o365-mail-proxy login ${ACCOUNT}`));
      const logged = stack.logs.map((line) => JSON.parse(line)).find((entry) => entry.event === 'signin.fail');
      expect(logged).toMatchObject({ user: ACCOUNT, temporary: false, hint: `run "o365-mail-proxy login ${ACCOUNT}" to sign in again` });
      expect(logged.cause).toContain(`AADSTS${code}`);
      expect(await stack.proxy.metrics.delegatedSignInValid.value({ account: ACCOUNT })).toBe(0);
      expect(await stack.proxy.metrics.render()).toContain(`o365p_delegated_signin_valid{account="${ACCOUNT}"} 0`);
      const ready = await readyz(admin);
      expect(ready.status).toBe(503);
      expect(ready.body.signIns[ACCOUNT]).toMatch(new RegExp(`AADSTS${code}.*login ${ACCOUNT}`));
      const doctor = await cliAsync(['doctor', '--config', setup.configFile, '--json']);
      expect(doctor.stderr).toBe("");
      const finding = JSON.parse(doctor.stdout).findings.find((f: any) => f.check === `sign-in ${ACCOUNT}`);
      expect(finding).toMatchObject({ ok: false, summary: expect.stringContaining(`(AADSTS${code})`) });
      expect(finding.fix.at(-1)).toBe(`run "o365-mail-proxy login ${ACCOUNT}" to sign in again`);
    } finally {
      setup.app.allowPublicClient = true;
      setup.user.failure = undefined;
      admin.close();
      await stack.close();
    }
  });

  it('works again once the cause is gone: the client logs in and the metric is back to 1', async () => {
    const stack = await setup.startProxy();
    try {
      expect((await python(stack, { client: 'imap', user: ACCOUNT, password: PASSWORD })).exists).toBe(2);
      expect(await stack.proxy.metrics.delegatedSignInValid.value({ account: ACCOUNT })).toBe(1);
    } finally {
      await stack.close();
    }
  });
});
