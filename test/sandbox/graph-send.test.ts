import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox, type SandboxApp } from '../../src/sandbox/index.js';
import { WireClient } from '../helpers/wire.js';
import { graphCall, graphToken, sendMime } from './graph-helpers.js';
import { accessToken, claimsOf, xoauth2 } from './helpers.js';

const SENDER = 'scanner@contoso.test';
const ALICE = 'alice@contoso.test';
const BOB = 'bob@contoso.test';
let sandbox: Sandbox;
let app: SandboxApp;
let token: string;

beforeAll(async () => {
  sandbox = await startSandbox();
  app = sandbox.registerApp({});
  for (const mailbox of [SENDER, ALICE, BOB]) sandbox.addMailbox(mailbox);
  sandbox.grantFullAccess(SENDER, app.objectId);
  token = await graphToken(sandbox, app);
});
afterAll(() => sandbox?.close());

const mime = (headers: string, body = 'Hello.\r\n'): Buffer => Buffer.from(`${headers}\r\n\r\n${body}`, 'latin1');

describe('sandbox Graph: tokens', () => {
  it('gives a Graph token the Graph URL as audience and the app\'s Graph roles only', async () => {
    expect(sandbox.graphUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(claimsOf(token)).toMatchObject({ aud: sandbox.graphUrl, roles: ['Mail.Send'], appid: app.clientId });
    const outlook = await accessToken(sandbox, app);
    expect(claimsOf(outlook).roles).toEqual(['IMAP.AccessAsApp', 'POP.AccessAsApp', 'SMTP.SendAsApp']);
  });

  it('refuses an Outlook token on Graph and a Graph token on IMAP (one audience per token)', async () => {
    const outlook = await accessToken(sandbox, app);
    const reply = await sendMime(sandbox, SENDER, outlook, mime(`From: ${SENDER}\r\nTo: ${ALICE}`));
    expect(reply.status).toBe(401);
    expect(reply.json.error).toMatchObject({ code: 'InvalidAuthenticationToken', message: 'Access token validation failure. Invalid audience.' });
    expect(reply.headers['www-authenticate']).toMatch(/^Bearer /);

    const wire = await WireClient.open(sandbox.imap.port, { tls: true, ca: sandbox.caPem });
    await wire.line();
    wire.send(`a1 AUTHENTICATE XOAUTH2 ${xoauth2(SENDER, token)}\r\n`);
    expect(await wire.line()).toBe('a1 NO AUTHENTICATE failed.');
    wire.close();
    expect(sandbox.graphSent()).toEqual([]);
  });

  it('answers 401 InvalidAuthenticationToken with Graph\'s error body for a missing or forged token', async () => {
    const missing = await sendMime(sandbox, SENDER, '', mime(`To: ${ALICE}`));
    expect(missing.status).toBe(401);
    expect(missing.json).toEqual({ error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty.', innerError: { date: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/), 'request-id': missing.headers['request-id'], 'client-request-id': missing.headers['client-request-id'] } } });
    const [h, c] = token.split('.');
    const forged = await sendMime(sandbox, SENDER, `${h}.${c}.AAAA`, mime(`To: ${ALICE}`));
    expect(forged.json.error).toMatchObject({ code: 'InvalidAuthenticationToken', message: 'Access token validation failure.' });
  });

  it('answers 401 for an expired token', async () => {
    const short = await startSandbox({ tokenLifetimeSeconds: 0 });
    try {
      const shortApp = short.registerApp({});
      short.addMailbox(SENDER);
      const expired = await graphToken(short, shortApp);
      const reply = await sendMime(short, SENDER, expired, mime(`To: ${ALICE}`));
      expect(reply.status).toBe(401);
      expect(reply.json.error.message).toBe('Access token has expired or is not yet valid.');
    } finally {
      await short.close();
    }
  });

  it('answers 403 ErrorAccessDenied when the app lacks Mail.Send on Graph', async () => {
    const bare = sandbox.registerApp({ graphRoles: [] });
    const bareToken = await graphToken(sandbox, bare);
    expect(claimsOf(bareToken)).not.toHaveProperty('roles');
    const reply = await sendMime(sandbox, SENDER, bareToken, mime(`To: ${ALICE}`));
    expect(reply.status).toBe(403);
    expect(reply.json.error).toMatchObject({ code: 'ErrorAccessDenied', message: 'Access is denied. Check credentials and try again.' });
  });
});

describe('sandbox Graph: sendMail with MIME', () => {
  it('takes recipients from To/Cc/Bcc, delivers without the Bcc header, keeps a Sent Items copy, and answers 202', async () => {
    const before = sandbox.stats.graphRequests['202'] ?? 0;
    const message = mime(`From: Scanner <${SENDER}>\r\nTo: "Doe, Alice" <${ALICE}>\r\nCc: external@fabrikam.test\r\nBcc: ${BOB}\r\nSubject: Scan\r\nX-Custom: kept`);
    const reply = await graphCall(sandbox, 'POST', `/v1.0/users/${SENDER}/sendMail`, { token, contentType: 'text/plain', body: message.toString('base64'), headers: { 'client-request-id': 'c0ffee00-0000-4000-8000-000000000001' } });
    expect(reply.status).toBe(202);
    expect(reply.text).toBe('');
    expect(reply.headers['request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(reply.headers['client-request-id']).toBe('c0ffee00-0000-4000-8000-000000000001');
    expect(sandbox.stats.graphRequests['202']).toBe(before + 1);

    const [sent] = sandbox.graphSent(SENDER).slice(-1);
    expect(sent).toMatchObject({
      via: 'sendMail',
      to: [{ address: ALICE, name: 'Doe, Alice' }],
      cc: [{ address: 'external@fabrikam.test', name: 'external@fabrikam.test' }],
      bcc: [{ address: BOB, name: BOB }],
      savedToSentItems: true,
      deliveredTo: [ALICE, BOB],
      requestId: reply.headers['request-id'],
    });
    const delivered = Buffer.from(message.toString('latin1').replace(`Bcc: ${BOB}\r\n`, ''), 'latin1');
    expect(sent!.mime.equals(delivered)).toBe(true);
    expect(sandbox.messages(ALICE).at(-1)!.equals(delivered)).toBe(true);
    expect(sandbox.messages(BOB).at(-1)!.equals(delivered)).toBe(true);
    expect(sandbox.messages(SENDER, 'Sent Items').at(-1)!.toString('latin1')).toBe(`Bcc: ${BOB}\r\n${delivered.toString('latin1')}`);
  });

  it('keeps 8-bit header and body bytes exactly', async () => {
    const message = Buffer.concat([Buffer.from(`From: ${SENDER}\r\nTo: =?UTF-8?Q?J=C3=BCrgen?= <${ALICE}>\r\nSubject: `), Buffer.from('Grüße – ünïcödé', 'utf8'), Buffer.from('\r\n\r\n'), Buffer.from([0xe4, 0xf6, 0xfc, 0x0d, 0x0a])]);
    const reply = await sendMime(sandbox, SENDER, token, message);
    expect(reply.status).toBe(202);
    const sent = sandbox.graphSent(SENDER).at(-1)!;
    expect(sent.to).toEqual([{ address: ALICE, name: 'Jürgen' }]);
    expect(sent.mime.equals(message)).toBe(true);
    expect(sandbox.messages(ALICE).at(-1)!.equals(message)).toBe(true);
  });

  it('refuses bad input with Graph\'s answers and sends nothing', async () => {
    const count = sandbox.graphSent().length;
    const badBase64 = await graphCall(sandbox, 'POST', `/v1.0/users/${SENDER}/sendMail`, { token, contentType: 'text/plain', body: 'not base64 at all!' });
    expect(badBase64.status).toBe(400);
    expect(badBase64.json.error).toMatchObject({ code: 'ErrorMimeContentInvalidBase64String', message: 'Invalid base64 string for MIME content.' });
    const noRecipients = await sendMime(sandbox, SENDER, token, mime(`From: ${SENDER}\r\nSubject: nobody`));
    expect(noRecipients.status).toBe(400);
    expect(noRecipients.json.error.code).toBe('ErrorInvalidRecipients');
    const unknownUser = await sendMime(sandbox, 'nobody@contoso.test', token, mime(`To: ${ALICE}`));
    expect(unknownUser.status).toBe(404);
    expect(unknownUser.json.error).toMatchObject({ code: 'ErrorInvalidUser', message: "The requested user 'nobody@contoso.test' is invalid." });
    sandbox.addUserWithoutMailbox('onprem@contoso.test');
    const onPremises = await sendMime(sandbox, 'onprem@contoso.test', token, mime(`To: ${ALICE}`));
    expect(onPremises.status).toBe(404);
    expect(onPremises.json.error).toMatchObject({ code: 'MailboxNotEnabledForRESTAPI', message: 'REST API is not yet supported for this mailbox.' });
    const tooLarge = await sendMime(sandbox, SENDER, token, mime(`To: ${ALICE}`, 'x'.repeat(3_200_000)));
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.json.error).toMatchObject({ code: 'BadRequest', message: 'The maximum request length supported is 4MB.' });
    expect(sandbox.graphSent().length).toBe(count);
  });

  it('refuses a From the mailbox may not send as with 403 ErrorSendAsDenied, and allows it once granted', async () => {
    const message = mime(`From: ceo@contoso.test\r\nTo: ${ALICE}`);
    const denied = await sendMime(sandbox, SENDER, token, message);
    expect(denied.status).toBe(403);
    expect(denied.json.error.code).toBe('ErrorSendAsDenied');
    expect(denied.json.error.message).toMatch(/does not have the right to send mail on behalf of the specified sending account/);
    sandbox.allowSendAs(SENDER, ['CEO@contoso.test']);
    expect((await sendMime(sandbox, SENDER, token, message)).status).toBe(202);
    sandbox.allowSendAs(SENDER, []);
  });

  it('refuses a mailbox outside the app\'s access policy with 403 "Access to OData is disabled."', async () => {
    sandbox.restrictGraphAccess(app.clientId, [ALICE]);
    try {
      const reply = await sendMime(sandbox, SENDER, token, mime(`To: ${ALICE}`));
      expect(reply.status).toBe(403);
      expect(reply.json.error).toMatchObject({ code: 'ErrorAccessDenied', message: 'Access to OData is disabled.' });
    } finally {
      sandbox.restrictGraphAccess(app.clientId, null);
    }
    expect((await sendMime(sandbox, SENDER, token, mime(`To: ${ALICE}`))).status).toBe(202);
  });
});
