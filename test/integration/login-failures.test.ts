import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';
import { PASSWORD, python, startStack, USER, type Stack } from '../helpers/stack.js';
import { WireClient } from '../helpers/wire.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** What each protocol's client saw when logging in; the three answers to compare. */
async function loginErrors(s: Stack) {
  const [imap, pop3, smtp] = await Promise.all([
    python(s, { client: 'imap' }),
    python(s, { client: 'pop3' }),
    python(s, { client: 'smtp', auth: 'PLAIN' }),
  ]);
  return { imap: imap.loginError, pop3: pop3.loginError, smtp: smtp.loginError };
}

describe('token failures reach the client as protocol-correct answers', () => {
  it('bad client secret: permanent, names AADSTS7000215, log has the cause but not the secret', async () => {
    stack = await startStack({ clientSecret: 'Wrong~Secret.Value-123' });
    expect(await loginErrors(stack)).toEqual({
      imap: expect.stringContaining('[AUTHENTICATIONFAILED] invalid client secret (AADSTS7000215)'),
      pop3: '-ERR [AUTH] invalid client secret (AADSTS7000215)',
      smtp: [535, '5.7.8 invalid client secret (AADSTS7000215)'],
    });
    const failure = stack.logs.find((l) => l.includes('"event":"token.fail"'))!;
    expect(failure).toMatch(/AADSTS7000215: Invalid client secret provided/);
    expect(stack.logs.join('\n')).not.toContain('Wrong~Secret.Value-123');
  });

  it('token endpoint down: temporary', async () => {
    stack = await startStack();
    stack.sandbox.controls.entraDown = true;
    expect(await loginErrors(stack)).toEqual({
      imap: expect.stringContaining('[UNAVAILABLE] token service unavailable, try again later'),
      pop3: '-ERR [SYS/TEMP] token service unavailable, try again later',
      smtp: [454, '4.7.0 token service unavailable, try again later'],
    });
  });

  it('token endpoint unreachable: temporary, and the log says what the network said', async () => {
    const closed = await freePort();
    stack = await startStack({ config: { apps: { contoso: { authorityHost: `https://127.0.0.1:${closed}` } } } });
    const seen = await python(stack, { client: 'imap' });
    expect(seen.loginError).toContain('[UNAVAILABLE] token service unavailable, try again later');
    const failure = stack.logs.map((line) => JSON.parse(line)).find((entry) => entry.event === 'token.fail');
    expect(failure.cause).toContain(`127.0.0.1:${closed}: connect ECONNREFUSED`);
  });

  it('token endpoint too slow: temporary, within the configured deadline', async () => {
    stack = await startStack({ config: { tokens: { requestTimeoutMs: 500 } } });
    stack.sandbox.controls.entraDelayMs = 5000;
    const started = Date.now();
    const seen = await python(stack, { client: 'imap' });
    expect(seen.loginError).toMatch(/\[UNAVAILABLE\] token service (did not answer in time|unavailable)/);
    expect(Date.now() - started).toBeLessThan(4000);
  });
  // Falling back to the last good token while the endpoint is down: test/unit/token-provider.test.ts.
});

describe('Exchange-side failures', () => {
  it('missing role: permanent, and the log names the role to add', async () => {
    stack = await startStack({ app: { roles: ['SMTP.SendAsApp'] } });
    const seen = await python(stack, { client: 'imap' });
    expect(seen.loginError).toMatch(/\[AUTHENTICATIONFAILED\] Exchange Online refused the token for invoices@contoso\.test/);
    expect(stack.logs.some((l) => l.includes('"event":"token.role-missing"') && l.includes('IMAP.AccessAsApp'))).toBe(true);
  });

  it('no mailbox permission: IMAP is told, not left with "authenticated but not connected"', async () => {
    stack = await startStack({ grant: false });
    const seen = await python(stack, { client: 'imap' });
    expect(seen.loginError).toMatch(/\[AUTHENTICATIONFAILED\] no access to mailbox invoices@contoso\.test/);
    expect(stack.logs.some((l) => l.includes('Add-MailboxPermission'))).toBe(true);
  });

  it('no mailbox permission: POP3 and SMTP refuse the login', async () => {
    stack = await startStack({ grant: false });
    const errors = await loginErrors(stack);
    expect(errors.pop3).toBe('-ERR [AUTH] Exchange Online refused the token for invoices@contoso.test');
    expect(errors.smtp).toEqual([535, '5.7.8 Exchange Online refused the token for invoices@contoso.test']);
  });

  it('retries once with a fresh token when Exchange refuses one, then gives up', async () => {
    stack = await startStack({ grant: false });
    const before = stack.sandbox.stats.tokenRequests;
    await python(stack, { client: 'pop3' });
    expect(stack.sandbox.stats.tokenRequests - before).toBe(2);
    expect(stack.sandbox.stats.pop3Logins).toBe(0);
  });

  it('handles the base64 JSON error continuation on every protocol', async () => {
    stack = await startStack({ grant: false });
    stack.sandbox.controls.errorChallenge = true;
    const errors = await loginErrors(stack);
    expect(errors.pop3).toBe('-ERR [AUTH] Exchange Online refused the token for invoices@contoso.test');
    expect(errors.smtp).toEqual([535, '5.7.8 Exchange Online refused the token for invoices@contoso.test']);
    expect(errors.imap).toMatch(/\[AUTHENTICATIONFAILED\]/);
  });

  it('upstream unreachable: temporary', async () => {
    const closed = await freePort();
    stack = await startStack({ config: { upstream: { imap: { host: '127.0.0.1', port: closed }, pop3: { host: '127.0.0.1', port: closed }, smtp: { host: '127.0.0.1', port: closed } } } });
    expect(await loginErrors(stack)).toEqual({
      imap: expect.stringContaining('[UNAVAILABLE] mail server unavailable, try again later'),
      pop3: '-ERR [SYS/TEMP] mail server unavailable, try again later',
      smtp: [454, '4.7.0 mail server unavailable, try again later'],
    });
  });

  it('upstream that accepts TCP and never speaks: temporary, after the login timeout', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      stack = await startStack({ config: { upstream: { imap: { host: '127.0.0.1', port }, tlsTimeoutMs: 500 } } });
      expect((await python(stack, { client: 'imap' })).loginError).toMatch(/\[UNAVAILABLE\]/);
    } finally {
      silent.close();
    }
  });
});


describe('password guessing', () => {
  const imapLogin = async (password: string, localAddress = '127.0.0.1') => {
    const client = await WireClient.open(stack!.port('imap'), { localAddress });
    await client.line();
    client.send(`a LOGIN ${USER} {${Buffer.byteLength(password)}+}\r\n${password}\r\n`);
    const answer = await client.line();
    client.close();
    return answer;
  };

  // When the window ends the pair may log in again: test/unit/login.test.ts, on a fake clock.
  it('locks out a username from one address after clients.maxFailedLogins failures', async () => {
    stack = await startStack({ config: { clients: { maxFailedLogins: 3, failedLoginDelayMs: 0 } } });
    for (let i = 0; i < 3; i++) expect(await imapLogin('guess')).toBe('a NO [AUTHENTICATIONFAILED] Authentication failed.');
    // Now even the right password is refused, with the same answer, and the log says why.
    expect(await imapLogin(PASSWORD)).toBe('a NO [AUTHENTICATIONFAILED] Authentication failed.');
    const lockout = stack.logs.map((line) => JSON.parse(line)).find((entry) => entry.reason === 'too-many-failures');
    expect(lockout).toMatchObject({ event: 'auth.fail', user: USER, lockedUntil: expect.any(String) });
    expect(lockout.hint).toMatch(/^3 failed logins from 127\.0\.0\.1/);
    // Another machine is not locked out.
    expect(await imapLogin(PASSWORD, '127.0.0.2')).toMatch(/^a OK/);
  });

  it('counts only failures since the last success', async () => {
    stack = await startStack({ config: { clients: { maxFailedLogins: 2 } } });
    expect(await imapLogin('guess')).toMatch(/^a NO/);
    expect(await imapLogin(PASSWORD)).toMatch(/^a OK/);
    expect(await imapLogin('typo')).toMatch(/^a NO/);
    expect(await imapLogin(PASSWORD)).toMatch(/^a OK/);
  });
});
