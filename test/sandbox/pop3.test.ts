import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { accessToken, tenantWithMailbox, xoauth2 } from './helpers.js';
import { WireClient } from '../helpers/wire.js';

const MAILBOX = 'invoices@contoso.test';
const messages = [
  Buffer.from('Subject: one\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n'),
  Buffer.from('Subject: two\r\n\r\nsecond\r\n'),
];
let sandbox: Sandbox;
let token: string;

beforeAll(async () => {
  ({ sandbox, token } = await tenantWithMailbox(MAILBOX, messages));
});
afterAll(() => sandbox?.close());

async function connect(): Promise<WireClient> {
  const wire = await WireClient.open(sandbox.pop3.port, { tls: true, ca: sandbox.caPem });
  expect(await wire.line()).toMatch(/^\+OK The Microsoft Exchange POP3 service is ready\. \[[A-Za-z0-9+/=]+\]$/);
  return wire;
}

/** A multi-line answer's data, dot-unstuffed, as the client will see it. */
async function multiline(wire: WireClient): Promise<Buffer> {
  const lines = await wire.until(/^\.$/);
  return Buffer.from(lines.slice(0, -1).map((l) => `${l.startsWith('.') ? l.slice(1) : l}\r\n`).join(''), 'latin1');
}

describe('fake Exchange POP3', () => {
  it('logs in with AUTH XOAUTH2 in two steps and retrieves messages byte for byte', async () => {
    const wire = await connect();
    wire.send('CAPA\r\n');
    expect(await wire.until(/^\.$/)).toEqual(['+OK', 'TOP', 'UIDL', 'SASL PLAIN XOAUTH2', 'USER', '.']);
    wire.send('STAT\r\nAUTH XOAUTH2\r\n');
    expect(await wire.line()).toBe('-ERR Command is not valid in this state.');
    expect(await wire.line()).toBe('+ ');
    wire.send(`${xoauth2(MAILBOX, token)}\r\n`);
    expect(await wire.line()).toBe('+OK User successfully authenticated.');
    wire.send('STAT\r\n');
    expect(await wire.line()).toBe(`+OK 2 ${messages[0]!.length + messages[1]!.length}`);
    wire.send('RETR 1\r\n');
    expect(await wire.line()).toMatch(/^\+OK/);
    expect((await multiline(wire)).equals(messages[0]!)).toBe(true);
    wire.send('TOP 2 0\r\n');
    expect(await wire.line()).toMatch(/^\+OK/);
    expect((await multiline(wire)).toString()).toBe('Subject: two\r\n\r\n');
    wire.send('UIDL\r\nRETR 3\r\n');
    const uidl = await wire.until(/^\.$/);
    expect(uidl).toHaveLength(4);
    expect(await wire.line()).toMatch(/^-ERR /);
    wire.send('DELE 2\r\nQUIT\r\n');
    expect(await wire.line()).toBe('+OK');
    expect(await wire.line()).toBe('+OK Microsoft Exchange Server POP3 server signing off.');
    await wire.ended();
    expect(sandbox.messages(MAILBOX)).toEqual([messages[0]]);
    expect(sandbox.stats.pop3Logins).toBe(1);
  });

  it('refuses USER/PASS and a token whose app lost its Exchange registration', async () => {
    const wire = await connect();
    wire.send('USER invoices@contoso.test\r\nPASS secret\r\n');
    expect(await wire.line()).toBe('+OK');
    expect(await wire.line()).toBe('-ERR Logon failure: unknown user name or bad password.');
    const gone = sandbox.registerApp({});
    sandbox.grantFullAccess(MAILBOX, gone.objectId);
    const goneToken = await accessToken(sandbox, gone);
    gone.servicePrincipalRegistered = false;
    wire.send(`AUTH XOAUTH2 ${xoauth2(MAILBOX, goneToken)}\r\n`);
    expect(await wire.line()).toBe('-ERR Authentication failure: unknown user name or bad password.');
    wire.close();
  });
});
