import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox, type SandboxApp } from '../../src/sandbox/index.js';
import { accessToken, httpsJson, tokenPath, xoauth2 } from './helpers.js';
import { WireClient } from '../helpers/wire.js';

const MAILBOX = 'invoices@contoso.test';
let sandbox: Sandbox;
let app: SandboxApp;

beforeAll(async () => {
  sandbox = await startSandbox();
  app = sandbox.registerApp({});
  sandbox.addMailbox(MAILBOX, [Buffer.from('Subject: x\r\n\r\ny\r\n')]);
  sandbox.grantFullAccess(MAILBOX, app.objectId);
});
afterAll(() => sandbox?.close());

describe('bad input gets a protocol answer, never a crash', () => {
  it('IMAP: malformed commands, an over-long line, an oversized literal', async () => {
    const wire = await WireClient.open(sandbox.imap.port, { tls: true, ca: sandbox.caPem });
    await wire.line();
    wire.send('\r\na SELECT INBOX\r\nb FETCH 1 (BODY[\r\nc LOGIN "unterminated\r\nd UID\r\ne AUTHENTICATE\r\n');
    expect(await wire.until(/^e /)).toEqual([
      '* BAD Command Error. 10',
      'a BAD Command received in Invalid state.',
      'b BAD Command Error. 10',
      'c BAD Command Error. 10',
      'd BAD Command Error. 10',
      'e BAD Command Argument Error. 11',
    ]);
    wire.send(`f NOOP ${'x'.repeat(200_000)}\r\ng APPEND INBOX {999999999999}\r\n`);
    expect(await wire.line()).toBe('* BAD Command Error. 10');
    expect(await wire.line()).toBe('g NO [TOOBIG] Literal too large.');
    wire.send(`h AUTHENTICATE XOAUTH2 ${xoauth2(MAILBOX, await accessToken(sandbox, app))}\r\n`);
    expect(await wire.line()).toBe('h OK AUTHENTICATE completed.');
    wire.send('i SELECT INBOX\r\nj FETCH 0 FLAGS\r\nk FETCH 1 (FROB)\r\nl SEARCH FROB\r\nm STORE 1 FLAGS.SILENT (\\Seen)\r\nn FETCH * (FLAGS)\r\n');
    const lines = await wire.until(/^n /);
    expect(lines.slice(-7)).toEqual([
      'i OK [READ-WRITE] SELECT completed.',
      'j BAD Command Argument Error. 11',
      'k BAD Command Argument Error. 11',
      'l BAD Command Argument Error. 11',
      'm OK STORE completed.',
      '* 1 FETCH (FLAGS (\\Seen))',
      'n OK FETCH completed.',
    ]);
    wire.close();
  });

  it('survives random bytes on every port, then still serves a login', async () => {
    const junk = () => Buffer.concat([randomBytes(4096), Buffer.from('\r\n'), randomBytes(70_000), Buffer.from('\r\n.\r\nQUIT\r\n')]);
    const wires = await Promise.all([
      WireClient.open(sandbox.imap.port, { tls: true, ca: sandbox.caPem }),
      WireClient.open(sandbox.pop3.port, { tls: true, ca: sandbox.caPem }),
      WireClient.open(sandbox.smtp.port),
      WireClient.open(sandbox.imap.port), // plain text to a TLS port
    ]);
    for (const wire of wires) wire.send(junk());
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const wire of wires) wire.close();
    const http = await httpsJson(sandbox, tokenPath(sandbox), { client_id: '%%%', grant_type: 'client_credentials' });
    expect(http.status).toBe(400);

    const wire = await WireClient.open(sandbox.pop3.port, { tls: true, ca: sandbox.caPem });
    await wire.line();
    wire.send(`AUTH XOAUTH2 ${xoauth2(MAILBOX, await accessToken(sandbox, app))}\r\n`);
    expect(await wire.line()).toBe('+OK User successfully authenticated.');
    wire.close();
  });
});
