import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, MAILBOX, PASSWORD, python, startStack, USER, type Stack } from '../helpers/stack.js';

let stack: Stack;
const OTHER = 'ap@contoso.test';
beforeAll(async () => {
  stack = await startStack();
  stack.sandbox.addMailbox(OTHER);
});
afterAll(() => stack?.close());

const entries = () => stack.logs.map((line) => JSON.parse(line) as Record<string, any>);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function logged(match: (entry: Record<string, any>) => boolean): Promise<Record<string, any>> {
  for (let tries = 0; tries < 200; tries++) {
    const found = entries().find(match);
    if (found) return found;
    await sleep(20);
  }
  throw new Error(`not logged; log:\n${stack.logs.join('\n')}`);
}

const REFUSED_CERTIFICATE = /^the client refused the proxy's certificate: give it the certificate \(certs\/localhost\.crt/;

describe('a client that refuses the local certificate is seen at info level, with its address and the listener', () => {
  it('implicit TLS (IMAP): curl without --cacert', async () => {
    const port = stack.port('imap', 'implicit');
    const result = await curl(['--user', `${USER}:${PASSWORD}`, `imaps://127.0.0.1:${port}/INBOX`]);
    expect(result.stderr).toMatch(/SSL certificate problem/);
    const line = await logged((e) => e.event === 'tls.client-error' && e.listener === `127.0.0.1:${port}`);
    expect(line).toMatchObject({ level: 30, proto: 'imap', tls: 'implicit', client: expect.stringMatching(/^127\.0\.0\.1:\d+$/), cause: 'tlsv1 alert unknown ca', hint: expect.stringMatching(REFUSED_CERTIFICATE) });
  });

  it('STARTTLS (IMAP and SMTP): curl --ssl-reqd without --cacert', async () => {
    const imap = stack.port('imap', 'starttls');
    await curl(['--ssl-reqd', '--user', `${USER}:${PASSWORD}`, `imap://127.0.0.1:${imap}/INBOX`]);
    expect(await logged((e) => e.event === 'tls.client-error' && e.listener === `127.0.0.1:${imap}`))
      .toMatchObject({ level: 30, proto: 'imap', tls: 'starttls', sid: expect.any(String), client: expect.stringMatching(/^127\.0\.0\.1:\d+$/), hint: expect.stringMatching(REFUSED_CERTIFICATE) });

    const smtp = stack.port('smtp', 'starttls');
    await curl(['--ssl-reqd', '--user', `${USER}:${PASSWORD}`, '--mail-from', MAILBOX, '--mail-rcpt', OTHER, '--upload-file', '-', `smtp://127.0.0.1:${smtp}`], Buffer.from('Subject: x\r\n\r\nx\r\n'));
    expect(await logged((e) => e.event === 'tls.client-error' && e.listener === `127.0.0.1:${smtp}`))
      .toMatchObject({ level: 30, proto: 'smtp', tls: 'starttls', client: '127.0.0.1', cause: 'tlsv1 alert unknown ca', hint: expect.stringMatching(REFUSED_CERTIFICATE) });
  });

  it('says so when a client speaks without TLS on a TLS port, and keeps port probes at debug level', async () => {
    const port = stack.port('pop3', 'implicit');
    const plain = connect(port, '127.0.0.1', () => plain.write('USER talend\r\n'));
    plain.on('error', () => {});
    expect(await logged((e) => e.event === 'tls.client-error' && e.listener === `127.0.0.1:${port}`))
      .toMatchObject({ level: 30, proto: 'pop3', cause: 'wrong version number', hint: expect.stringMatching(/^the client spoke without TLS on a TLS port/) });
    plain.destroy();

    const probe = stack.port('smtp', 'implicit');
    await new Promise<void>((resolve) => connect(probe, '127.0.0.1', function (this: any) { this.destroy(); resolve(); }));
    await sleep(200);
    expect(entries().filter((e) => e.event === 'tls.client-error' && e.listener === `127.0.0.1:${probe}`)).toEqual([]);
  });
});

describe('a message Exchange refuses', () => {
  it('is logged with Exchange\'s code, enhanced code and text, and the sender; never the content', async () => {
    const seen = await python(stack, { client: 'smtp', auth: 'PLAIN', messages: [{ from: 'ceo@contoso.test', to: [OTHER], text: 'Subject: secret plans\r\n\r\nthe content\r\n' }] });
    expect(seen.sent[0]).toMatchObject({ ok: false, code: 550 });
    const line = await logged((e) => e.event === 'smtp.message-refused');
    expect(line).toMatchObject({
      level: 30, step: 'DATA', code: 550, from: 'ceo@contoso.test',
      reply: '550 5.7.60 SMTP; Client does not have permissions to send as this sender',
      msg: 'message refused upstream: 550 5.7.60 SMTP; Client does not have permissions to send as this sender',
    });
    expect(stack.logs.join('\n')).not.toMatch(/secret plans|the content/);
  });

  it('and a refused recipient, with Exchange\'s words', async () => {
    await python(stack, { client: 'smtp', auth: 'PLAIN', messages: [{ from: MAILBOX, to: ['ghost@contoso.test'], text: 'Subject: x\r\n\r\ny\r\n' }] });
    expect(await logged((e) => e.event === 'smtp.recipient-refused')).toMatchObject({
      step: 'RCPT', code: 550, from: MAILBOX, reply: expect.stringMatching(/^550 5\.1\.10 RESOLVER\.ADR\.RecipientNotFound/),
    });
  });
});
