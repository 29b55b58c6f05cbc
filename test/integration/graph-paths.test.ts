import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { keepTokensWarm } from '../../src/auth/token-warmup.js';
import { leftovers, MAILBOX, PASSWORD, python, startStack, USER, type Stack } from '../helpers/stack.js';
import { PATIENCE } from '../helpers/wait.js';
import { WireClient } from '../helpers/wire.js';

/** smtpVia "auto", the size limit, Graph's per-mailbox concurrency and the logs of the Graph path. */
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const TO = 'ap@contoso.test';
const message = (subject: string, body = 'body\r\n') => Buffer.from(`From: ${MAILBOX}\r\nTo: ${TO}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@contoso.test>\r\n\r\n${body}`);
const send = (s: Stack, raws: Buffer[]) => python(s, { client: 'smtp', auth: 'LOGIN', messages: raws.map((raw) => ({ from: MAILBOX, to: [TO], raw: raw.toString('base64') })) });
const entries = (s: Stack) => s.logs.map((line) => JSON.parse(line) as Record<string, unknown> & { level: number; event?: string });

describe('smtpVia "auto"', () => {
  it('sends through SMTP AUTH while Exchange takes it, then through Graph once Exchange says 535 5.7.139, warning once', async () => {
    stack = await startStack({ smtpVia: 'auto' });
    stack.sandbox.addMailbox(TO);
    const first = await send(stack, [message('via smtp')]);
    expect(first.sent).toEqual([{ ok: true, refused: {} }]);
    expect(stack.sandbox.graphSent()).toEqual([]);
    expect(stack.sandbox.messages(TO).map(String).some((m) => m.includes('via smtp'))).toBe(true);

    stack.sandbox.controls.smtpAuthDisabled = true;
    for (const subject of ['after the switch', 'and from then on']) {
      const seen = await send(stack, [message(subject)]);
      expect(seen.loginError).toBeUndefined();
      expect(seen.sent).toEqual([{ ok: true, refused: {} }]);
    }
    expect(stack.sandbox.graphSent(MAILBOX).map((m) => m.mime.toString())).toEqual([message('after the switch').toString(), message('and from then on').toString()]);
    // One Outlook token (SMTP AUTH) and one Graph token, each cached for every later session.
    expect(stack.sandbox.stats.tokenRequests).toBe(2);
    const warnings = entries(stack).filter((e) => e.level === 40);
    expect(warnings.map((e) => e.event)).toEqual(['smtp.via-graph']);
    expect(String(warnings[0]!.msg)).toBe(`SMTP AUTH is disabled for ${MAILBOX}: this account sends through Microsoft Graph from now on`);
  });
});

describe('SMTP through Graph: limits and logs', () => {
  it('says at start that the Graph token lacks Mail.Send (not that SMTP.SendAsApp is missing), and the client hears 550 5.7.1 naming it', async () => {
    stack = await startStack({ smtpVia: 'graph', app: { roles: [], graphRoles: [] }, config: { accounts: { [USER]: { protocols: ['smtp'] } } } });
    // What "start" runs after the listeners are up.
    const warmup = keepTokensWarm(stack.proxy.context(), stack.proxy.context().log);
    await vi.waitFor(() => expect(entries(stack!).some((e) => e.event === 'token.role-missing')).toBe(true), PATIENCE);
    warmup.stop();
    const seen = await send(stack, [message('no permission')]);
    expect(seen.sent).toEqual([{ ok: false, code: 550, text: '5.7.1 The app may not send mail through Microsoft Graph: Mail.Send application permission missing (run o365-mail-proxy doctor)' }]);
    const missing = entries(stack).filter((e) => e.event === 'token.role-missing');
    expect(missing.every((e) => /Microsoft Graph/.test(String(e.msg)) && !/SendAsApp/.test(JSON.stringify(e)))).toBe(true);
    expect(String(missing[0]!.msg)).toMatch(/^the Microsoft Graph token lacks Mail\.Send and Mail\.ReadWrite: add them under API permissions → Microsoft Graph/);
  });

  it('answers 451 4.4.2 when a sendMail\'s answer is lost and Sent Items cannot tell (no Mail.Read), and adds a missing Message-ID', async () => {
    stack = await startStack({ smtpVia: 'graph' });
    stack.sandbox.graphFault({ kind: 'drop-after', operation: 'sendMail' });
    const raw = Buffer.from(`From: ${MAILBOX}\r\nTo: ${TO}\r\nSubject: no id\r\n\r\nbody\r\n`);
    const seen = await send(stack, [raw]);
    expect(seen.sent).toEqual([{ ok: false, code: 451, text: '4.4.2 Connection to Microsoft Graph lost after the message was handed over; it may have been sent, check Sent Items before sending again' }]);
    const sent = stack.sandbox.graphSent(MAILBOX);
    expect(sent).toHaveLength(1);
    // Without Mail.ReadWrite, a message that needs a draft (a Bcc-only recipient) is refused, naming the permission.
    const bcc = await python(stack, { client: 'smtp', auth: 'PLAIN', messages: [{ from: MAILBOX, to: [TO, 'hidden@contoso.test'], raw: message('needs a draft').toString('base64') }] });
    expect(bcc.sent).toEqual([{ ok: false, code: 550, text: expect.stringMatching(/^5\.7\.1 The app may not create drafts through Microsoft Graph: Mail\.ReadWrite application permission missing/) }]);
    expect(sent[0]!.mime.toString()).toMatch(new RegExp(`^Message-ID: <[0-9a-f-]{36}@contoso\\.test>\r\n${raw.toString().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  });

  it('gives up on a Graph request after upstream.graph.requestTimeoutMs, and says the message may have been sent', async () => {
    stack = await startStack({ smtpVia: 'graph', config: { upstream: { graph: { requestTimeoutMs: 300 } } } });
    stack.sandbox.controls.graphDelayMs = 5000;
    const seen = await send(stack, [message('slow graph')]);
    expect(seen.sent).toEqual([{ ok: false, code: 451, text: expect.stringMatching(/^4\.4\.2 .*may have been sent/) }]);
    expect(entries(stack).find((e) => e.event === 'graph.refused')).toMatchObject({ cause: expect.stringMatching(/no answer within 300 ms/) });
    stack.sandbox.controls.graphDelayMs = 0;
  });

  it('answers 552 5.3.4 for a message over upstream.graph.maxMessageBytes, and sends nothing', async () => {
    stack = await startStack({ smtpVia: 'graph', config: { upstream: { graph: { maxMessageBytes: 100_000 } } } });
    const big = message('too big', `${'x'.repeat(998)}\r\n`.repeat(150));
    const seen = await send(stack, [big, message('small enough')]);
    expect(seen.sent).toEqual([{ ok: false, code: 552, text: '5.3.4 Message size exceeds fixed maximum message size' }, { ok: true, refused: {} }]);
    expect(stack.sandbox.graphSent().map((m) => m.mime.toString())).toEqual([message('small enough').toString()]);
  });

  it('keeps at most 4 Graph requests in flight per mailbox, however many clients send at once', async () => {
    stack = await startStack({ smtpVia: 'graph' });
    stack.sandbox.controls.graphDelayMs = 300;
    const clients = Array.from({ length: 7 }, (_, i) => send(stack!, [message(`parallel ${i}`)]));
    const results = await Promise.all(clients);
    expect(results.map((r) => r.sent)).toEqual(results.map(() => [{ ok: true, refused: {} }]));
    expect(stack.sandbox.graphConcurrency(MAILBOX).max).toBe(4);
    expect(stack.sandbox.stats.graphRequests['429']).toBeUndefined();
  });

  it('writes no token, upload URL, password or message content to the log, at trace level', async () => {
    stack = await startStack({ smtpVia: 'graph', logLevel: 'trace', app: { graphRoles: ['Mail.Send', 'Mail.ReadWrite'] } });
    const secretBody = `CONFIDENTIAL-${randomBytes(8).toString('hex')}`;
    const attachment = randomBytes(4 * 1024 * 1024).toString('base64').replace(/.{76}/g, '$&\r\n');
    const raw = Buffer.from(`From: ${MAILBOX}\r\nTo: ${TO}\r\nSubject: ${secretBody}\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n${secretBody}\r\n--b\r\nContent-Type: application/pdf; name="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n${attachment}\r\n--b--\r\n`);
    // Bcc-only recipient: the draft path, with an upload session.
    const seen = await python(stack, { client: 'smtp', auth: 'PLAIN', messages: [{ from: MAILBOX, to: [TO, 'hidden@contoso.test'], raw: raw.toString('base64') }] });
    expect(seen.sent).toEqual([{ ok: true, refused: {} }]);
    const logs = stack.logs.join('\n');
    expect(logs).toContain('"event":"graph.sent"');
    expect(logs.match(/eyJ[\w-]{10,}\.[\w-]{10,}/)).toBeNull();
    for (const forbidden of [secretBody, PASSWORD, stack.app.clientSecret!, 'Bearer', 'uploadUrl', '/upload/', Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')]) {
      expect(logs, `log contains ${forbidden}`).not.toContain(forbidden);
    }
  });
});

describe('SMTP through Graph, a client that leaves', () => {
  it('sends nothing when the client leaves during DATA, and the session ends cleanly', async () => {
    stack = await startStack({ smtpVia: 'graph' });
    const client = await WireClient.open(stack.port('smtp'));
    await client.line();
    client.send(`EHLO test\r\nAUTH PLAIN ${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}\r\n`);
    await client.until(/^235 /);
    client.send(`MAIL FROM:<${MAILBOX}>\r\nRCPT TO:<${TO}>\r\nDATA\r\n`);
    await client.until(/^354 /);
    client.send('Subject: half\r\n\r\nonly half of it');
    client.close();
    expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
    expect(stack.sandbox.graphSent()).toEqual([]);
  });
});

describe('SMTP through Graph on shutdown', () => {
  it('gives Graph\'s verdict, not 421, for a message handed to Graph, however short the grace', async () => {
    stack = await startStack({ smtpVia: 'graph' });
    stack.sandbox.controls.graphDelayMs = 1500;
    const client = await WireClient.open(stack.port('smtp'));
    await client.line();
    client.send(`EHLO test\r\nAUTH PLAIN ${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}\r\n`);
    await client.until(/^235 /);
    client.send(`MAIL FROM:<${MAILBOX}>\r\nRCPT TO:<${TO}>\r\nDATA\r\n`);
    await client.until(/^354 /);
    client.send(`${message('in flight').toString()}.\r\n`);
    await vi.waitFor(() => expect(stack!.sandbox.graphConcurrency(MAILBOX).now).toBe(1), PATIENCE);
    const closing = stack.proxy.close(100);
    expect(await client.line(8000)).toBe('250 2.0.0 OK: sent through Microsoft Graph');
    expect(await client.line()).toBe('421 4.3.2 o365-mail-proxy is shutting down, try again later');
    await closing;
    expect(stack.sandbox.graphSent(MAILBOX)).toHaveLength(1);
    // The proxy is closed already: only the sandbox is left to close.
    await stack.sandbox.close();
    stack = undefined;
  }, 20_000);
});
