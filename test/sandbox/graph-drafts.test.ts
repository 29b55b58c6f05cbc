import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { createDraft, graphCall, graphToken, messagePath } from './graph-helpers.js';

const SENDER = 'erp@contoso.test';
const ALICE = 'alice@contoso.test';
const BOB = 'bob@contoso.test';
const MIB = 1024 * 1024;
let sandbox: Sandbox;
let token: string;

beforeAll(async () => {
  sandbox = await startSandbox();
  const app = sandbox.registerApp({ graphRoles: ['Mail.Send', 'Mail.ReadWrite'] });
  for (const mailbox of [SENDER, ALICE, BOB]) sandbox.addMailbox(mailbox);
  token = await graphToken(sandbox, app);
});
afterAll(() => sandbox?.close());

const MESSAGE = Buffer.from(`From: ERP <${SENDER}>\r\nTo: ${ALICE}, header-only@contoso.test\r\nSubject: Invoice 42\r\nMessage-ID: <inv42@erp.contoso.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n`, 'utf8');
const recipients = (...addresses: string[]) => addresses.map((address) => ({ emailAddress: { address } }));
const json = (value: unknown) => ({ token, contentType: 'application/json', body: JSON.stringify(value) });

/** Base64 parts of a multipart message, decoded, by filename. */
function attachmentsIn(mime: Buffer): Map<string, Buffer> {
  const found = new Map<string, Buffer>();
  const text = mime.toString('latin1');
  for (const match of text.matchAll(/Content-Disposition: attachment; filename="([^"]+)"\r\nContent-Transfer-Encoding: base64\r\n\r\n([A-Za-z0-9+/=\r\n]+?)\r\n--/g)) {
    found.set(match[1]!, Buffer.from(match[2]!.replace(/\r\n/g, ''), 'base64'));
  }
  return found;
}

describe('sandbox Graph: drafts', () => {
  it('creates a draft from MIME with recipients from its headers, shows it, and deletes it', async () => {
    const created = await createDraft(sandbox, SENDER, token, MESSAGE);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      id: expect.stringMatching(/^AAMk/), isDraft: true, subject: 'Invoice 42', internetMessageId: '<inv42@erp.contoso.test>',
      toRecipients: [{ emailAddress: { address: ALICE, name: ALICE } }, { emailAddress: { address: 'header-only@contoso.test' } }], ccRecipients: [], bccRecipients: [],
    });
    const id = created.json.id as string;
    expect(sandbox.graphDrafts(SENDER)).toEqual([id]);
    expect((await graphCall(sandbox, 'GET', messagePath(SENDER, id), { token })).json.id).toBe(id);
    expect((await graphCall(sandbox, 'DELETE', messagePath(SENDER, id), { token })).status).toBe(204);
    const gone = await graphCall(sandbox, 'GET', messagePath(SENDER, id), { token });
    expect(gone.status).toBe(404);
    expect(gone.json.error).toMatchObject({ code: 'ErrorItemNotFound', message: 'The specified object was not found in the store.' });
    expect(sandbox.graphDrafts(SENDER)).toEqual([]);
  });

  it('sends to the recipients set by PATCH only: a Bcc-only recipient is in no header, a header-only address gets nothing', async () => {
    const id = (await createDraft(sandbox, SENDER, token, MESSAGE)).json.id as string;
    const patched = await graphCall(sandbox, 'PATCH', messagePath(SENDER, id), json({ toRecipients: recipients(ALICE), ccRecipients: [], bccRecipients: recipients(BOB) }));
    expect(patched.status).toBe(200);
    expect(patched.json.bccRecipients).toEqual([{ emailAddress: { address: BOB, name: BOB } }]);
    const send = await graphCall(sandbox, 'POST', messagePath(SENDER, id, '/send'), { token });
    expect(send.status).toBe(202);

    const sent = sandbox.graphSent(SENDER).at(-1)!;
    expect(sent).toMatchObject({ via: 'draft', to: [{ address: ALICE }], cc: [], bcc: [{ address: BOB }], deliveredTo: [ALICE, BOB], savedToSentItems: true });
    const delivered = sent.mime.toString('utf8');
    expect(delivered).toBe(MESSAGE.toString('utf8').replace(`To: ${ALICE}, header-only@contoso.test\r\n`, '').replace('From:', `To: ${ALICE}\r\nFrom:`));
    expect(delivered).not.toContain(BOB);
    expect(sandbox.messages(BOB).at(-1)!.equals(sent.mime)).toBe(true);
    expect(sandbox.messages(SENDER, 'Sent Items').at(-1)!.toString('utf8')).toBe(`Bcc: ${BOB}\r\n${delivered}`);
    // Sent: the draft is gone, which is how a client checks after a lost answer.
    expect((await graphCall(sandbox, 'GET', messagePath(SENDER, id), { token })).status).toBe(404);
    expect((await graphCall(sandbox, 'POST', messagePath(SENDER, id, '/send'), { token })).status).toBe(404);
    expect(sandbox.graphSent(SENDER).filter((m) => m.requestId === sent.requestId)).toHaveLength(1);
  });

  it('attaches a small file and a 20 MiB file (upload session, 4 MiB PUTs) and delivers both intact', async () => {
    const id = (await createDraft(sandbox, SENDER, token, MESSAGE)).json.id as string;
    const small = randomBytes(100_000);
    const added = await graphCall(sandbox, 'POST', messagePath(SENDER, id, '/attachments'), json({ '@odata.type': '#microsoft.graph.fileAttachment', name: 'small.bin', contentType: 'application/octet-stream', contentBytes: small.toString('base64') }));
    expect(added.status).toBe(201);
    expect(added.json).toMatchObject({ name: 'small.bin', size: small.length, id: expect.any(String) });

    const big = randomBytes(20 * MIB);
    const session = await graphCall(sandbox, 'POST', messagePath(SENDER, id, '/attachments/createUploadSession'), json({ AttachmentItem: { attachmentType: 'file', name: 'scan.pdf', size: big.length, contentType: 'application/pdf' } }));
    expect(session.status).toBe(201);
    expect(session.json).toMatchObject({ uploadUrl: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+\/upload\/.*\?authtoken=/), nextExpectedRanges: ['0-'] });
    let last;
    for (let start = 0; start < big.length; start += 4 * MIB) {
      const chunk = big.subarray(start, start + 4 * MIB);
      last = await graphCall(sandbox, 'PUT', session.json.uploadUrl, { body: chunk, headers: { 'content-range': `bytes ${start}-${start + chunk.length - 1}/${big.length}`, 'content-type': 'application/octet-stream' } });
      if (start + chunk.length < big.length) expect(last).toMatchObject({ status: 200, json: { nextExpectedRanges: [String(start + chunk.length)] } });
    }
    expect(last!.status).toBe(201);
    expect(last!.headers.location).toMatch(/\/attachments\('AAMk[^']+'\)$/);
    expect((await graphCall(sandbox, 'PATCH', messagePath(SENDER, id), json({ toRecipients: recipients(ALICE) }))).status).toBe(200);
    expect((await graphCall(sandbox, 'POST', messagePath(SENDER, id, '/send'), { token })).status).toBe(202);

    const sent = sandbox.graphSent(SENDER).at(-1)!;
    expect(sent.attachments.map((a) => [a.name, a.contentType, a.content.length])).toEqual([['small.bin', 'application/octet-stream', small.length], ['scan.pdf', 'application/pdf', big.length]]);
    const inbox = sandbox.messages(ALICE).at(-1)!;
    expect(inbox.equals(sent.mime)).toBe(true);
    const parts = attachmentsIn(inbox);
    const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(digest(parts.get('scan.pdf')!)).toBe(digest(big));
    expect(digest(parts.get('small.bin')!)).toBe(digest(small));
    expect(inbox.toString('utf8')).toMatch(/^Content-Type: multipart\/mixed; boundary="[^"]+"\r\n/);
    expect(inbox.toString('utf8')).toContain('Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n');
  }, 60_000);

  it('refuses out-of-order chunks, a Bearer on the upload URL, and sessions for small files', async () => {
    const id = (await createDraft(sandbox, SENDER, token, MESSAGE)).json.id as string;
    const small = await graphCall(sandbox, 'POST', messagePath(SENDER, id, '/attachments/createUploadSession'), json({ AttachmentItem: { attachmentType: 'file', name: 'a.txt', size: 1000 } }));
    expect(small.status).toBe(400);
    expect(small.json.error.code).toBe('ErrorAttachmentSizeShouldNotBeLessThanMinimumSize');
    const session = await graphCall(sandbox, 'POST', messagePath(SENDER, id, '/attachments/createUploadSession'), json({ AttachmentItem: { attachmentType: 'file', name: 'b.bin', size: 4 * MIB } }));
    const chunk = Buffer.alloc(MIB);
    const skipped = await graphCall(sandbox, 'PUT', session.json.uploadUrl, { body: chunk, headers: { 'content-range': `bytes ${MIB}-${2 * MIB - 1}/${4 * MIB}` } });
    expect(skipped.status).toBe(400);
    const withBearer = await graphCall(sandbox, 'PUT', session.json.uploadUrl, { token, body: chunk, headers: { 'content-range': `bytes 0-${MIB - 1}/${4 * MIB}` } });
    expect(withBearer.status).toBe(401);
    const tooBig = await graphCall(sandbox, 'PUT', session.json.uploadUrl, { body: Buffer.alloc(4 * MIB + 1), headers: { 'content-range': `bytes 0-${4 * MIB}/${4 * MIB + 1}` } });
    expect(tooBig.status).toBe(413);
    const wrongToken = await graphCall(sandbox, 'PUT', session.json.uploadUrl.replace(/authtoken=.*/, 'authtoken=forged'), { body: chunk, headers: { 'content-range': `bytes 0-${MIB - 1}/${4 * MIB}` } });
    expect(wrongToken.status).toBe(404);
    expect(sandbox.graphSent(SENDER).filter((m) => m.attachments.some((a) => a.name === 'b.bin'))).toEqual([]);
  });

  it('needs Mail.ReadWrite for drafts and Mail.Send to send one', async () => {
    const sendOnly = await graphToken(sandbox, sandbox.registerApp({}));
    const refused = await createDraft(sandbox, SENDER, sendOnly, MESSAGE);
    expect(refused.status).toBe(403);
    expect(refused.json.error).toMatchObject({ code: 'ErrorAccessDenied', message: 'Access is denied. Check credentials and try again.' });
    const writeOnly = await graphToken(sandbox, sandbox.registerApp({ graphRoles: ['Mail.ReadWrite'] }));
    const id = (await createDraft(sandbox, SENDER, writeOnly, MESSAGE)).json.id as string;
    expect((await graphCall(sandbox, 'POST', messagePath(SENDER, id, '/send'), { token: writeOnly })).status).toBe(403);
    expect(sandbox.graphDrafts(SENDER)).toContain(id);
    await graphCall(sandbox, 'DELETE', messagePath(SENDER, id), { token: writeOnly });
  });
});

describe('sandbox Graph: the mailbox size limit', () => {
  it('refuses a send and an upload over graphMaxMessageBytes with ErrorMessageSizeExceeded, sending nothing', async () => {
    sandbox.controls.graphMaxMessageBytes = 5 * MIB;
    try {
      const count = sandbox.graphSent().length;
      const big = Buffer.alloc(4 * MIB, 1);
      const direct = await graphCall(sandbox, 'POST', `/v1.0/users/${SENDER}/sendMail`, { token, contentType: 'text/plain', body: Buffer.concat([MESSAGE, Buffer.alloc(MIB, 'a')]).toString('base64') });
      expect(direct.status).toBe(202);
      sandbox.controls.graphMaxMessageBytes = MIB;
      const over = await graphCall(sandbox, 'POST', `/v1.0/users/${SENDER}/sendMail`, { token, contentType: 'text/plain', body: Buffer.concat([MESSAGE, Buffer.alloc(MIB, 'a')]).toString('base64') });
      expect(over.status).toBe(400);
      expect(over.json.error).toMatchObject({ code: 'ErrorMessageSizeExceeded', message: 'The message exceeds the maximum supported size.' });

      sandbox.controls.graphMaxMessageBytes = 5 * MIB;
      const id = (await createDraft(sandbox, SENDER, token, MESSAGE)).json.id as string;
      const session = await graphCall(sandbox, 'POST', messagePath(SENDER, id, '/attachments/createUploadSession'), json({ AttachmentItem: { attachmentType: 'file', name: 'big.bin', size: big.length } }));
      const first = await graphCall(sandbox, 'PUT', session.json.uploadUrl, { body: big.subarray(0, 2 * MIB), headers: { 'content-range': `bytes 0-${2 * MIB - 1}/${big.length}` } });
      expect(first.status).toBe(200);
      const second = await graphCall(sandbox, 'PUT', session.json.uploadUrl, { body: big.subarray(2 * MIB, 4 * MIB), headers: { 'content-range': `bytes ${2 * MIB}-${4 * MIB - 1}/${big.length}` } });
      expect(second.status).toBe(400);
      expect(second.json.error.code).toBe('ErrorMessageSizeExceeded');
      expect(sandbox.graphSent().length).toBe(count + 1);
    } finally {
      sandbox.controls.graphMaxMessageBytes = 35 * MIB;
    }
  });
});
