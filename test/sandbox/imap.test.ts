import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { accessToken, tenantWithMailbox, xoauth2 } from './helpers.js';
import { WireClient } from '../helpers/wire.js';

const MAILBOX = 'invoices@contoso.test';
const messages = [
  Buffer.from('From: billing@contoso.test\r\nTo: invoices@contoso.test\r\nSubject: First\r\n\r\nHello.\r\n'),
  Buffer.from('From: billing@contoso.test\r\nSubject: Second\r\n\r\n.leading dot\r\n\xdcmlaut \x00 bytes\r\n', 'latin1'),
];
let sandbox: Sandbox;
let token: string;

beforeAll(async () => {
  ({ sandbox, token } = await tenantWithMailbox(MAILBOX, messages));
});
afterAll(() => sandbox?.close());

async function connect(): Promise<WireClient> {
  const wire = await WireClient.open(sandbox.imap.port, { tls: true, ca: sandbox.caPem });
  expect(await wire.line()).toMatch(/^\* OK The Microsoft Exchange IMAP4 service is ready\. \[[A-Za-z0-9+/=]+\]$/);
  return wire;
}

async function loggedIn(user = MAILBOX, bearer = token): Promise<WireClient> {
  const wire = await connect();
  wire.send(`a1 AUTHENTICATE XOAUTH2 ${xoauth2(user, bearer)}\r\n`);
  expect(await wire.line()).toBe('a1 OK AUTHENTICATE completed.');
  return wire;
}

describe('fake Exchange IMAP', () => {
  it('logs in with XOAUTH2, selects INBOX and fetches byte-exact literals', async () => {
    const wire = await connect();
    wire.send('a0 CAPABILITY\r\n');
    expect(await wire.until(/^a0 /)).toEqual([
      '* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+',
      'a0 OK CAPABILITY completed.',
    ]);
    wire.send(`a1 AUTHENTICATE XOAUTH2 ${xoauth2(MAILBOX, token)}\r\n`);
    expect(await wire.line()).toBe('a1 OK AUTHENTICATE completed.');
    wire.send('a2 CAPABILITY\r\n');
    expect((await wire.line())).toContain(' MOVE ');
    await wire.line();
    wire.send('a3 SELECT INBOX\r\n');
    const select = await wire.until(/^a3 /);
    expect(select).toContain('* 2 EXISTS');
    expect(select.at(-1)).toBe('a3 OK [READ-WRITE] SELECT completed.');
    expect(select.some((l) => /^\* OK \[UIDVALIDITY \d+\]/.test(l))).toBe(true);
    expect(select).toContain('* OK [UIDNEXT 3] The next unique identifier value');

    for (const [i, message] of messages.entries()) {
      wire.send(`f${i} FETCH ${i + 1} (UID RFC822.SIZE BODY.PEEK[])\r\n`);
      expect(await wire.line()).toBe(`* ${i + 1} FETCH (UID ${i + 1} RFC822.SIZE ${message.length} BODY[] {${message.length}}`);
      expect((await wire.bytes(message.length)).equals(message)).toBe(true);
      expect(await wire.line()).toBe(')');
      expect(await wire.line()).toBe(`f${i} OK FETCH completed.`);
    }
    wire.send('u1 UID FETCH 2:* (FLAGS BODY[HEADER.FIELDS (SUBJECT)])\r\n');
    // not a PEEK: the message becomes \Seen, and FLAGS shows it
    expect(await wire.line()).toBe('* 2 FETCH (UID 2 FLAGS (\\Seen) BODY[HEADER.FIELDS (SUBJECT)] {19}');
    expect((await wire.bytes(19)).toString()).toBe('Subject: Second\r\n\r\n');
    expect(await wire.until(/^u1 /)).toEqual([')', 'u1 OK FETCH completed.']);
    wire.send('s1 SEARCH SUBJECT "first"\r\ns2 UID SEARCH UNSEEN\r\n');
    expect(await wire.until(/^s2 /)).toEqual(['* SEARCH 1', 's1 OK SEARCH completed.', '* SEARCH 1', 's2 OK SEARCH completed.']);
    wire.send('z LOGOUT\r\n');
    expect(await wire.until(/^z /)).toEqual(['* BYE Microsoft Exchange Server IMAP4 server signing off.', 'z OK LOGOUT completed.']);
    await wire.ended();
  });

  it('takes the XOAUTH2 response on a continuation line, and refuses basic auth', async () => {
    const wire = await connect();
    wire.send('a LOGIN invoices@contoso.test password\r\nb AUTHENTICATE XOAUTH2\r\n');
    expect(await wire.line()).toBe('a NO LOGIN failed.');
    expect(await wire.line()).toBe('+ ');
    wire.send(`${xoauth2(MAILBOX, token)}\r\n`);
    expect(await wire.line()).toBe('b OK AUTHENTICATE completed.');
    wire.send('c FROB\r\nd LIST "" "*"\r\n');
    expect(await wire.until(/^d /)).toEqual([
      'c BAD Command Error. 10',
      '* LIST (\\HasNoChildren) "/" INBOX',
      '* LIST (\\HasNoChildren) "/" "Sent Items"',
      '* LIST (\\HasNoChildren) "/" Archive',
      'd OK LIST completed.',
    ]);
    wire.close();
  });

  it('answers NO for a token without the IMAP role, and for a malformed response', async () => {
    const smtpOnly = sandbox.registerApp({ roles: ['SMTP.SendAsApp'] });
    sandbox.grantFullAccess(MAILBOX, smtpOnly.objectId);
    const wire = await connect();
    wire.send(`a AUTHENTICATE XOAUTH2 ${xoauth2(MAILBOX, await accessToken(sandbox, smtpOnly))}\r\nb AUTHENTICATE XOAUTH2 bm9uc2Vuc2U=\r\n`);
    expect(await wire.until(/^b /)).toEqual(['a NO AUTHENTICATE failed.', 'b NO AUTHENTICATE failed.']);
    wire.close();
  });

  it('without FullAccess: "OK AUTHENTICATE completed." and then "not connected" for every command', async () => {
    const stranger = sandbox.registerApp({});
    const wire = await loggedIn(MAILBOX, await accessToken(sandbox, stranger));
    wire.send('b CAPABILITY\r\nc SELECT INBOX\r\nd LOGOUT\r\n');
    expect(await wire.until(/^d /)).toEqual([
      'b BAD User is authenticated but not connected.',
      'c BAD User is authenticated but not connected.',
      '* BYE Microsoft Exchange Server IMAP4 server signing off.',
      'd OK LOGOUT completed.',
    ]);
  });

  it('sends the error continuation first when errorChallenge is on', async () => {
    const unregistered = sandbox.registerApp({ servicePrincipalRegistered: false });
    sandbox.grantFullAccess(MAILBOX, unregistered.objectId);
    sandbox.controls.errorChallenge = true;
    try {
      const wire = await connect();
      wire.send(`a AUTHENTICATE XOAUTH2 ${xoauth2(MAILBOX, await accessToken(sandbox, unregistered))}\r\n`);
      const challenge = await wire.line();
      expect(challenge).toMatch(/^\+ eyJ/);
      expect(JSON.parse(Buffer.from(challenge.slice(2), 'base64').toString())).toEqual({ status: '401', schemes: 'bearer', scope: 'https://outlook.office365.com/.default' });
      wire.send('\r\n');
      expect(await wire.line()).toBe('a NO AUTHENTICATE failed.');
      wire.close();
    } finally {
      sandbox.controls.errorChallenge = false;
    }
  });

  it('IDLE reports a message delivered meanwhile; APPEND takes a literal', async () => {
    const wire = await loggedIn();
    wire.send('b SELECT Archive\r\n');
    expect((await wire.until(/^b /)).at(-1)).toBe('b OK [READ-WRITE] SELECT completed.');
    wire.send('c IDLE\r\n');
    expect(await wire.line()).toBe('+ IDLE accepted, awaiting DONE command.');
    const other = await loggedIn();
    const message = 'Subject: appended\r\n\r\nbody\r\n';
    other.send(`x APPEND Archive (\\Seen) {${message.length}}\r\n`);
    expect(await other.line()).toMatch(/^\+ /);
    other.send(`${message}\r\n`);
    expect(await other.line()).toMatch(/^x OK \[APPENDUID \d+ 1\] APPEND completed\.$/);
    expect(await wire.line()).toBe('* 1 EXISTS');
    wire.send('DONE\r\n');
    expect(await wire.line()).toBe('c OK IDLE completed.');
    expect(sandbox.messages(MAILBOX, 'Archive').map(String)).toEqual([message]);
    wire.close();
    other.close();
  });

  it('ends the session when the token expires', async () => {
    const short = await startSandbox({ tokenLifetimeSeconds: 1 });
    try {
      const shortApp = short.registerApp({});
      short.addMailbox(MAILBOX);
      short.grantFullAccess(MAILBOX, shortApp.objectId);
      const wire = await WireClient.open(short.imap.port, { tls: true, ca: short.caPem });
      await wire.line();
      wire.send(`a AUTHENTICATE XOAUTH2 ${xoauth2(MAILBOX, await accessToken(short, shortApp))}\r\n`);
      expect(await wire.line()).toBe('a OK AUTHENTICATE completed.');
      expect(await wire.line(3000)).toBe('* BYE Session invalidated - AccessTokenExpired');
      await wire.ended();
    } finally {
      await short.close();
    }
  });
});
