import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { PATIENCE } from '../helpers/wait.js';
import { createDraft, graphCall, graphToken, messagePath, sendMime, type GraphReply } from './graph-helpers.js';

const SENDER = 'mailer@contoso.test';
const ALICE = 'alice@contoso.test';
let sandbox: Sandbox;
let token: string;
let dir: string;

beforeAll(async () => {
  sandbox = await startSandbox();
  const app = sandbox.registerApp({ graphRoles: ['Mail.Send', 'Mail.ReadWrite'] });
  sandbox.addMailbox(SENDER);
  sandbox.addMailbox(ALICE);
  token = await graphToken(sandbox, app);
  dir = mkdtempSync(join(tmpdir(), 'graph-faults-'));
  writeFileSync(join(dir, 'ca.pem'), sandbox.caPem);
});
afterAll(async () => {
  await sandbox?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const message = (subject: string): Buffer => Buffer.from(`From: ${SENDER}\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\n\r\nBody\r\n`);
const sentWith = (subject: string) => sandbox.graphSent(SENDER).filter((m) => m.mime.includes(`Subject: ${subject}\r\n`));

describe('sandbox Graph: faults', () => {
  it('answers 429 and 503 with Retry-After for the next N requests, without acting', async () => {
    sandbox.graphFault({ kind: 'throttle', count: 2, retryAfterSeconds: 7 });
    sandbox.graphFault({ kind: 'unavailable', retryAfterSeconds: 3 });
    const first = await sendMime(sandbox, SENDER, token, message('throttled'));
    expect(first.status).toBe(429);
    expect(first.headers['retry-after']).toBe('7');
    expect(first.json.error).toMatchObject({ code: 'ApplicationThrottled', message: 'Application is over its RequestRate limit.' });
    expect((await sendMime(sandbox, SENDER, token, message('throttled'))).status).toBe(429);
    const third = await sendMime(sandbox, SENDER, token, message('throttled'));
    expect(third.status).toBe(503);
    expect(third.headers['retry-after']).toBe('3');
    expect(third.json.error.code).toBe('serviceNotAvailable');
    expect(sentWith('throttled')).toEqual([]);
    expect((await sendMime(sandbox, SENDER, token, message('throttled'))).status).toBe(202);
    expect(sentWith('throttled')).toHaveLength(1);
    expect(sandbox.stats.graphRequests).toMatchObject({ 429: 2, 503: 1 });
  });

  it('aims a fault at one operation only', async () => {
    const id = (await createDraft(sandbox, SENDER, token, message('aimed'))).json.id as string;
    sandbox.graphFault({ kind: 'unavailable', operation: 'send' });
    expect((await graphCall(sandbox, 'GET', messagePath(SENDER, id), { token })).status).toBe(200);
    expect((await graphCall(sandbox, 'POST', messagePath(SENDER, id, '/send'), { token })).status).toBe(503);
    expect((await graphCall(sandbox, 'POST', messagePath(SENDER, id, '/send'), { token })).status).toBe(202);
    expect(sentWith('aimed')).toHaveLength(1);
  });

  it('drops the connection before acting: nothing is sent, and the draft is still there', async () => {
    const id = (await createDraft(sandbox, SENDER, token, message('drop-before'))).json.id as string;
    sandbox.graphFault({ kind: 'drop-before', operation: 'send' });
    await expect(graphCall(sandbox, 'POST', messagePath(SENDER, id, '/send'), { token })).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(sentWith('drop-before')).toEqual([]);
    expect((await graphCall(sandbox, 'GET', messagePath(SENDER, id), { token })).status).toBe(200);
    expect(sandbox.stats.graphRequests.dropped).toBe(1);
  });

  it('drops the connection after acting: the message IS sent, and the draft answers 404', async () => {
    const id = (await createDraft(sandbox, SENDER, token, message('drop-after'))).json.id as string;
    sandbox.graphFault({ kind: 'drop-after', operation: 'send' });
    await expect(graphCall(sandbox, 'POST', messagePath(SENDER, id, '/send'), { token })).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(sentWith('drop-after')).toHaveLength(1);
    expect((await graphCall(sandbox, 'GET', messagePath(SENDER, id), { token })).status).toBe(404);
  });

  it('lets a client find a sendMail whose answer was lost in Sent Items by its Message-ID', async () => {
    const withId = (id: string) => Buffer.from(`From: ${SENDER}\r\nTo: ${ALICE}\r\nMessage-ID: ${id}\r\nSubject: lookup\r\n\r\nBody\r\n`);
    const lookup = (id: string) => graphCall(sandbox, 'GET', `/v1.0/users/${SENDER}/mailFolders/SentItems/messages?$select=id,internetMessageId&$filter=${encodeURIComponent(`internetMessageId eq '${id}'`)}`, { token });
    sandbox.graphFault({ kind: 'drop-before', operation: 'sendMail' });
    await expect(sendMime(sandbox, SENDER, token, withId('<lost-before@erp>'))).rejects.toThrow(/socket hang up|ECONNRESET/);
    sandbox.graphFault({ kind: 'drop-after', operation: 'sendMail' });
    await expect(sendMime(sandbox, SENDER, token, withId('<lost-after@erp>'))).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect((await lookup('<lost-before@erp>')).json.value).toEqual([]);
    const found = await lookup('<lost-after@erp>');
    expect(found.status).toBe(200);
    expect(found.json.value).toEqual([{ id: expect.stringMatching(/^AAMk/), internetMessageId: '<lost-after@erp>', subject: 'lookup', sentDateTime: expect.any(String), isDraft: false }]);
    const sendOnly = await graphToken(sandbox, sandbox.registerApp({}));
    expect((await graphCall(sandbox, 'GET', `/v1.0/users/${SENDER}/mailFolders/SentItems/messages`, { token: sendOnly })).status).toBe(403);
  });

  it('counts requests in flight per mailbox and answers a fifth with 429 MailboxConcurrency', async () => {
    sandbox.controls.graphDelayMs = 60_000;
    let held: Promise<GraphReply[]> | undefined;
    try {
      held = Promise.all(Array.from({ length: 4 }, (_, i) => sendMime(sandbox, SENDER, token, message(`concurrent ${i}`))));
      await vi.waitFor(() => expect(sandbox.graphConcurrency(SENDER).now).toBe(4), PATIENCE);
      const fifth = await sendMime(sandbox, SENDER, token, message('concurrent 4'));
      expect(fifth.status).toBe(429);
      expect(fifth.json.error).toMatchObject({ code: 'ApplicationThrottled', message: 'Application is over its MailboxConcurrency limit.' });
      expect(fifth.headers).toMatchObject({ 'retry-after': '1', 'ratelimit-exceeded': 'MailboxConcurrency' });
      expect(sandbox.graphConcurrency(ALICE)).toEqual({ now: 0, max: 0 });
    } finally {
      sandbox.controls.graphDelayMs = 0;
    }
    expect((await held!).map((r) => r.status)).toEqual([202, 202, 202, 202]);
    expect(sandbox.graphConcurrency(SENDER)).toEqual({ now: 0, max: 5 });
    expect(sentWith('concurrent 4')).toEqual([]);
  });

  it('serves curl: sendMail with a base64 file body', async () => {
    writeFileSync(join(dir, 'mail.b64'), message('via curl').toString('base64'));
    const { stdout } = await promisify(execFile)('curl', [
      '-sS', '--cacert', join(dir, 'ca.pem'), '-o', '/dev/null', '-w', '%{http_code}',
      '-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: text/plain',
      '--data-binary', `@${join(dir, 'mail.b64')}`, `${sandbox.graphUrl}/v1.0/users/${SENDER}/sendMail`,
    ]);
    expect(stdout).toBe('202');
    expect(sentWith('via curl')).toHaveLength(1);
  });
});
