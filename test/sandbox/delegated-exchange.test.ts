// Exchange with delegated tokens: a person's token opens their own mailbox, and a shared one
// they have FullAccess on, over IMAP (Python's imaplib), POP3 and SMTP; other mailboxes and
// tokens without the protocol's scope get the answers Exchange gives app-only tokens.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox, type SandboxApp } from '../../src/sandbox/index.js';
import { WireClient } from '../helpers/wire.js';
import { claimsOf, signInWithDeviceCode, xoauth2 } from './helpers.js';

const ADA = 'ada@contoso.test';
const SHARED = 'invoices@contoso.test';
const BOB = 'bob@contoso.test';
let sandbox: Sandbox;
let app: SandboxApp;
let token: string;

const message = (subject: string) => Buffer.from(`From: x@contoso.test\r\nSubject: ${subject}\r\n\r\nHello.\r\n`);

beforeAll(async () => {
  sandbox = await startSandbox();
  app = sandbox.registerApp({ clientSecret: undefined, allowPublicClient: true });
  const ada = sandbox.addUser(ADA);
  sandbox.addMailbox(ADA, [message('one'), message('two')]);
  sandbox.addMailbox(SHARED, [message('invoice')]);
  sandbox.grantFullAccess(SHARED, ada.objectId);
  sandbox.addUser(BOB);
  token = (await signInWithDeviceCode(sandbox, app, ADA)).access_token;
});
afterAll(() => sandbox?.close());

/** Python's imaplib: AUTHENTICATE XOAUTH2 (two-step), then SELECT INBOX; prints what it saw. */
const IMAPLIB = `
import imaplib, json, ssl, sys
req = json.load(sys.stdin)
conn = imaplib.IMAP4_SSL('127.0.0.1', req['port'], ssl_context=ssl.create_default_context(cadata=req['ca']))
out = {}
try:
    typ, _ = conn.authenticate('XOAUTH2', lambda _: ('user=%s\\x01auth=Bearer %s\\x01\\x01' % (req['user'], req['token'])).encode())
    out['auth'] = typ
    typ, data = conn.select('INBOX')
    out['select'] = typ
    out['exists'] = int(data[0])
except imaplib.IMAP4.error as e:
    out['error'] = str(e)
print(json.dumps(out))
`;

function imaplib(user: string, bearer: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = execFile('python3', ['-c', IMAPLIB], { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(stderr || error.message));
      else resolve(JSON.parse(stdout) as Record<string, unknown>);
    });
    child.stdin!.end(JSON.stringify({ port: sandbox.imap.port, ca: sandbox.caPem, user, token: bearer }));
  });
}

async function pop3Login(user: string, bearer: string): Promise<string> {
  const wire = await WireClient.open(sandbox.pop3.port, { tls: true, ca: sandbox.caPem });
  await wire.line();
  wire.send('AUTH XOAUTH2\r\n');
  await wire.line();
  wire.send(`${xoauth2(user, bearer)}\r\n`);
  const answer = await wire.line();
  wire.close();
  return answer;
}

async function smtpLogin(user: string, bearer: string): Promise<string> {
  const wire = await WireClient.open(sandbox.smtp.port);
  await wire.line();
  wire.send('EHLO client.example\r\n');
  await wire.until(/^250 /);
  wire.send('STARTTLS\r\n');
  await wire.line();
  await wire.startTls(sandbox.caPem);
  wire.send('EHLO client.example\r\n');
  await wire.until(/^250 /);
  wire.send('AUTH XOAUTH2\r\n');
  await wire.line();
  wire.send(`${xoauth2(user, bearer)}\r\n`);
  const answer = await wire.line();
  wire.close();
  return answer;
}

describe('Exchange with delegated tokens', () => {
  it('IMAP (imaplib): the user\'s own mailbox and a shared one with FullAccess open; another user\'s does not', async () => {
    expect(await imaplib(ADA, token)).toEqual({ auth: 'OK', select: 'OK', exists: 2 });
    expect(await imaplib(SHARED, token)).toEqual({ auth: 'OK', select: 'OK', exists: 1 });
    // As for an app without FullAccess: the login is accepted, the session is not connected.
    expect(await imaplib(BOB, token)).toEqual({ auth: 'OK', error: expect.stringContaining('User is authenticated but not connected.') });
  });

  it('POP3 and SMTP take the token for the user\'s own and the shared mailbox, and refuse another user\'s', async () => {
    expect(await pop3Login(ADA, token)).toBe('+OK User successfully authenticated.');
    expect(await pop3Login(SHARED, token)).toBe('+OK User successfully authenticated.');
    expect(await pop3Login(BOB, token)).toBe('-ERR Authentication failure: unknown user name or bad password.');
    expect(await smtpLogin(ADA, token)).toBe('235 2.7.0 Authentication successful');
    expect(await smtpLogin(BOB, token)).toBe('430 4.2.0 STOREDRV; mailbox logon failure');
  });

  it('each protocol needs its own scope in scp', async () => {
    const smtpOnly = (await signInWithDeviceCode(sandbox, app, ADA, 'https://outlook.office365.com/SMTP.Send offline_access')).access_token;
    expect(claimsOf(smtpOnly).scp).toBe('SMTP.Send');
    expect(await imaplib(ADA, smtpOnly)).toEqual({ error: expect.stringContaining('AUTHENTICATE failed.') });
    expect(await pop3Login(ADA, smtpOnly)).toBe('-ERR Authentication failure: unknown user name or bad password.');
    expect(await smtpLogin(ADA, smtpOnly)).toBe('235 2.7.0 Authentication successful');
    const imapOnly = (await signInWithDeviceCode(sandbox, app, ADA, 'https://outlook.office365.com/IMAP.AccessAsUser.All')).access_token;
    expect(await smtpLogin(ADA, imapOnly)).toMatch(/^535 5\.7\.3 Authentication unsuccessful/);
  });

  it('takes the outlook.office.com form of the scope too; an unprefixed scope makes a Graph token, which Exchange refuses', async () => {
    const office = await signInWithDeviceCode(sandbox, app, ADA, 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access');
    expect(claimsOf(office.access_token).aud).toBe('https://outlook.office.com');
    expect(office.scope).toBe('https://outlook.office.com/IMAP.AccessAsUser.All');
    expect(await imaplib(ADA, office.access_token)).toEqual({ auth: 'OK', select: 'OK', exists: 2 });
    const short = await signInWithDeviceCode(sandbox, app, ADA, 'IMAP.AccessAsUser.All offline_access');
    expect(claimsOf(short.access_token)).toMatchObject({ aud: 'https://graph.microsoft.com', scp: 'IMAP.AccessAsUser.All' });
    expect(short.scope).toBe('IMAP.AccessAsUser.All');
    expect(await imaplib(ADA, short.access_token)).toEqual({ error: expect.stringContaining('AUTHENTICATE failed.') });
  });
});
