import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { curl, MAILBOX, PASSWORD, python, startStack, USER, type Stack } from '../helpers/stack.js';

/**
 * Sending through Microsoft Graph (accounts.<u>.smtpVia "graph"): legacy SMTP clients
 * (Python smtplib, curl) against the proxy, the sandbox's Graph behind it.
 */
let stack: Stack;
const TO = 'ap@contoso.test';
const CC = 'controller@contoso.test';
const HIDDEN = 'audit@contoso.test';

beforeAll(async () => {
  stack = await startStack({ smtpVia: 'graph', app: { graphRoles: ['Mail.Send', 'Mail.ReadWrite'] } });
  for (const mailbox of [TO, CC, HIDDEN]) stack.sandbox.addMailbox(mailbox);
});
afterAll(() => stack?.close());
afterEach(() => stack.sandbox.clearGraphFaults());

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const send = (messages: { from?: string; to: string[]; raw: Buffer }[], extra: Record<string, unknown> = {}) =>
  python(stack, { client: 'smtp', auth: 'PLAIN', messages: messages.map((m) => ({ from: m.from ?? MAILBOX, to: m.to, raw: m.raw.toString('base64') })), ...extra });
const lastSent = () => stack.sandbox.graphSent(MAILBOX).at(-1)!;

function mail(subject: string, headers: string, body = 'Hello through Graph.\r\n'): Buffer {
  return Buffer.from(`From: Invoices <${MAILBOX}>\r\n${headers}Subject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@contoso.test>\r\nDate: Sun, 29 Nov 2026 23:00:00 +0000\r\n\r\n${body}`);
}

describe('SMTP through Microsoft Graph', () => {
  it('sends with one sendMail, byte for byte, when the envelope is the header\'s To, Cc and Bcc; Bcc stays invisible', async () => {
    const raw = Buffer.from(mail('Grüße 8bit', `To: <${TO}>\r\nCc: Controller <${CC}>\r\nBcc: ${HIDDEN}\r\nReply-To: replies@contoso.test\r\nX-Job: invoice-run 42\r\n`, 'Überweisung: 12 €\r\n').toString('utf8'), 'utf8');
    const seen = await send([{ to: [TO, CC, HIDDEN], raw }]);
    expect(seen.sent).toEqual([{ ok: true, refused: {} }]);
    const sent = lastSent();
    expect(sent.via).toBe('sendMail');
    expect(sent.bcc.map((r) => r.address)).toEqual([HIDDEN]);
    expect(sent.deliveredTo.sort()).toEqual([CC, HIDDEN, TO].sort());
    const delivered = sent.mime.toString('utf8');
    expect(delivered).not.toMatch(/^Bcc:/im);
    expect(delivered).not.toContain(HIDDEN);
    for (const header of ['Subject: Grüße 8bit', 'Reply-To: replies@contoso.test', 'X-Job: invoice-run 42', 'Message-ID: <Gre8bit@contoso.test>', 'Date: Sun, 29 Nov 2026']) expect(delivered).toContain(header);
    expect(delivered).toContain('Überweisung: 12 €');
  });

  it('delivers to an envelope-only recipient as a blind copy, and not to an address that is only in the header', async () => {
    const raw = mail('envelope rules', `To: ${TO}\r\nCc: ${CC}\r\n`);
    const seen = await send([{ to: [TO, HIDDEN], raw }]);
    expect(seen.sent).toEqual([{ ok: true, refused: {} }]);
    const sent = lastSent();
    expect(sent.via).toBe('draft');
    expect(sent.to.map((r) => r.address)).toEqual([TO]);
    expect(sent.cc).toEqual([]);
    expect(sent.bcc.map((r) => r.address)).toEqual([HIDDEN]);
    expect(sent.deliveredTo.sort()).toEqual([HIDDEN, TO].sort());
    expect(sent.mime.toString('utf8')).not.toContain(HIDDEN);
    expect(stack.sandbox.messages(CC).map(String).some((m) => m.includes('envelope rules'))).toBe(false);
    expect(stack.sandbox.graphDrafts(MAILBOX)).toEqual([]);
  });

  it('sends a 20 MiB message with attachments intact (upload sessions), and logs one graph.sent line', async () => {
    const files = [randomBytes(12 * 1024 * 1024), randomBytes(8 * 1024 * 1024), randomBytes(200 * 1024)];
    const part = (name: string, data: Buffer) => `--b1\r\nContent-Type: application/octet-stream; name="${name}"\r\nContent-Disposition: attachment; filename="${name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n${data.toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n`;
    const body = `--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n${part('big.bin', files[0]!)}${part('medium.bin', files[1]!)}${part('small.bin', files[2]!)}--b1--\r\n`;
    const raw = mail('twenty MiB', `To: ${TO}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n`, body);
    expect(raw.length).toBeGreaterThan(20 * 1024 * 1024);
    const seen = await send([{ to: [TO], raw }]);
    expect(seen.sent).toEqual([{ ok: true, refused: {} }]);
    const sent = lastSent();
    expect(sent.via).toBe('draft');
    // Whatever was uploaded separately or stayed in the MIME: every file arrives, byte-exact.
    const uploaded = new Map(sent.attachments.map((a) => [a.name, sha(a.content)]));
    expect(uploaded.get('big.bin')).toBe(sha(files[0]!));
    expect(uploaded.get('medium.bin')).toBe(sha(files[1]!));
    expect(sent.mime.toString('latin1')).toContain('See attached.');
    const line = stack.logs.map((l) => JSON.parse(l)).filter((e) => e.event === 'graph.sent').at(-1);
    expect(line).toMatchObject({ bytes: raw.length, recipients: 1, requestId: sent.requestId });
  });

  it('waits out a 429 with Retry-After and sends once; past sendTimeoutMs it answers 451 4.7.0 naming the wait', async () => {
    stack.sandbox.graphFault({ kind: 'throttle', operation: 'sendMail', retryAfterSeconds: 1 });
    const before = stack.sandbox.graphSent(MAILBOX).length;
    const seen = await send([{ to: [TO], raw: mail('throttled once', `To: ${TO}\r\n`) }]);
    expect(seen.sent).toEqual([{ ok: true, refused: {} }]);
    expect(stack.sandbox.graphSent(MAILBOX).length).toBe(before + 1);

    stack.sandbox.graphFault({ kind: 'unavailable', operation: 'sendMail', retryAfterSeconds: 600 });
    const refused = await send([{ to: [TO], raw: mail('throttled long', `To: ${TO}\r\n`) }]);
    expect(refused.sent).toEqual([{ ok: false, code: 451, text: '4.7.0 Microsoft Graph is throttling this mailbox, try again in 600 seconds' }]);
    expect(stack.sandbox.graphSent(MAILBOX).length).toBe(before + 1);
  });

  it('never sends twice when the connection drops: a lost send of a draft is checked, a lost sendMail is looked up in Sent Items', async () => {
    const before = stack.sandbox.graphSent(MAILBOX).length;
    stack.sandbox.graphFault({ kind: 'drop-after', operation: 'send' });
    const draft = await send([{ to: [TO, HIDDEN], raw: mail('dropped after send', `To: ${TO}\r\n`) }]);
    expect(draft.sent).toEqual([{ ok: true, refused: {} }]);
    expect(stack.sandbox.graphSent(MAILBOX).length).toBe(before + 1);

    stack.sandbox.graphFault({ kind: 'drop-before', operation: 'send' });
    const resent = await send([{ to: [TO, HIDDEN], raw: mail('dropped before send', `To: ${TO}\r\n`) }]);
    expect(resent.sent).toEqual([{ ok: true, refused: {} }]);
    expect(stack.sandbox.graphSent(MAILBOX).length).toBe(before + 2);

    // A lost sendMail: the copy in Sent Items (found by Message-ID, with Mail.ReadWrite) proves it went.
    stack.sandbox.graphFault({ kind: 'drop-after', operation: 'sendMail' });
    const lost = await send([{ to: [TO], raw: mail('dropped sendMail', `To: ${TO}\r\n`) }]);
    expect(lost.sent).toEqual([{ ok: true, refused: {} }]);
    expect(stack.sandbox.graphSent(MAILBOX).length).toBe(before + 3);
    expect(stack.sandbox.graphDrafts(MAILBOX)).toEqual([]);
  });

  it('answers 550 5.7.60 when the mailbox may not send as the From address, and 550 5.7.1 for an access policy', async () => {
    const spoofed = Buffer.from(`From: ceo@contoso.test\r\nTo: ${TO}\r\nSubject: spoofed\r\n\r\nbody\r\n`);
    const seen = await send([{ from: 'ceo@contoso.test', to: [TO], raw: spoofed }]);
    expect(seen.sent).toEqual([{ ok: false, code: 550, text: `5.7.60 Not allowed to send as ceo@contoso.test: the mailbox ${MAILBOX} has no SendAs right for it` }]);

    const bounceAddress = await send([{ from: 'bounces@elsewhere.test', to: [TO], raw: mail('foreign envelope sender', `To: ${TO}\r\n`) }]);
    expect(bounceAddress.sent).toEqual([{ ok: false, code: 550, text: `5.7.60 Envelope sender bounces@elsewhere.test is neither the mailbox ${MAILBOX} nor the message's From address` }]);

    stack.sandbox.restrictGraphAccess(stack.app.clientId, []);
    try {
      const policy = await send([{ to: [TO], raw: mail('policy', `To: ${TO}\r\n`) }]);
      expect(policy.sent).toEqual([{ ok: false, code: 550, text: expect.stringMatching(/^5\.7\.1 The app may not use mailbox invoices@contoso\.test: an application access policy/) }]);
    } finally {
      stack.sandbox.restrictGraphAccess(stack.app.clientId, null);
    }
  });

  it('sends with curl (smtp://, STARTTLS)', async () => {
    const raw = mail('curl via graph', `To: ${TO}\r\n`);
    const result = await curl(['--ssl-reqd', '--cacert', stack.localCaFile, '--user', `${USER}:${PASSWORD}`, '--mail-from', MAILBOX, '--mail-rcpt', TO, '--upload-file', '-', `smtp://127.0.0.1:${stack.port('smtp', 'starttls')}`], raw);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(lastSent().mime.equals(raw)).toBe(true);
  });
});
