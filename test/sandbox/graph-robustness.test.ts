import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { PATIENCE } from '../helpers/wait.js';
import { WireClient } from '../helpers/wire.js';
import { createDraft, graphCall, graphToken, messagePath, sendMime } from './graph-helpers.js';

const SENDER = 'robust@contoso.test';
let sandbox: Sandbox;
let token: string;
let dir: string;

beforeAll(async () => {
  sandbox = await startSandbox();
  sandbox.addMailbox(SENDER);
  token = await graphToken(sandbox, sandbox.registerApp({ graphRoles: ['Mail.Send', 'Mail.ReadWrite'] }));
  dir = mkdtempSync(join(tmpdir(), 'graph-robust-'));
  writeFileSync(join(dir, 'ca.pem'), sandbox.caPem);
});
afterAll(async () => {
  await sandbox?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const MIME = Buffer.from(`From: ${SENDER}\r\nTo: someone@fabrikam.test\r\nSubject: ok\r\n\r\nBody\r\n`);

describe('sandbox Graph: bad input', () => {
  it('answers malformed requests with Graph-shaped errors and keeps serving', async () => {
    const unknown = await graphCall(sandbox, 'POST', `/v1.0/users/${SENDER}/calendar/events`, { token });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatchObject({ code: 'BadRequest', message: "Resource not found for the segment 'events'." });
    expect((await graphCall(sandbox, 'POST', '/v1.0/users/%E0%A4%A/sendMail', { token })).status).toBe(400);
    expect((await graphCall(sandbox, 'POST', `/v1.0/users/${SENDER}/sendMail`, { token, contentType: 'application/json', body: '{"message":{}}' })).status).toBe(400);
    const id = (await createDraft(sandbox, SENDER, token, MIME)).json.id as string;
    expect((await graphCall(sandbox, 'PATCH', messagePath(SENDER, id), { token, contentType: 'application/json', body: '{not json' })).status).toBe(400);
    expect((await graphCall(sandbox, 'PATCH', messagePath(SENDER, id), { token, contentType: 'application/json', body: '{"toRecipients":[{"emailAddress":{}}]}' })).status).toBe(400);
    expect((await graphCall(sandbox, 'POST', messagePath(SENDER, id, '/attachments'), { token, contentType: 'application/json', body: '[]' })).status).toBe(400);
    expect((await graphCall(sandbox, 'POST', messagePath(SENDER, 'no-such-id', '/send'), { token })).status).toBe(404);

    // Not HTTP at all, then a request cut off in the middle of its body.
    const raw = await WireClient.open(Number(new URL(sandbox.graphUrl).port), { tls: true, ca: sandbox.caPem });
    raw.send('\x16\x03garbage\r\n\r\n');
    raw.close();
    const cut = await WireClient.open(Number(new URL(sandbox.graphUrl).port), { tls: true, ca: sandbox.caPem });
    cut.send(`POST /v1.0/users/${SENDER}/sendMail HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nRnJvbTo`);
    cut.close();

    expect((await sendMime(sandbox, SENDER, token, MIME)).status).toBe(202);
    expect(sandbox.graphSent(SENDER)).toHaveLength(1);
    await vi.waitFor(() => expect(sandbox.graphConcurrency(SENDER).now).toBe(0), PATIENCE);
  });

  it('answers curl\'s large uploads (Expect: 100-continue): 202 under 4 MB, 413 over it', async () => {
    const post = async (file: string): Promise<string> => (await promisify(execFile)('curl', [
      '-sS', '--cacert', join(dir, 'ca.pem'), '-w', '\n%{http_code}', '-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: text/plain',
      '--data-binary', `@${file}`, `${sandbox.graphUrl}/v1.0/users/${SENDER}/sendMail`,
    ], { maxBuffer: 1 << 20 })).stdout;
    writeFileSync(join(dir, 'ok.b64'), Buffer.concat([MIME, Buffer.alloc(2_500_000, 'a')]).toString('base64'));
    writeFileSync(join(dir, 'big.b64'), Buffer.concat([MIME, Buffer.alloc(3_500_000, 'a')]).toString('base64'));
    expect(await post(join(dir, 'ok.b64'))).toBe('\n202');
    const refused = (await post(join(dir, 'big.b64'))).split('\n');
    expect(refused[1]).toBe('413');
    expect(JSON.parse(refused[0]!).error.code).toBe('BadRequest');
  });
});
