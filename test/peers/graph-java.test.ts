import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/config.js';
import { MAILBOX, PASSWORD, startStack, USER, type Stack } from '../helpers/stack.js';

/** A legacy Jakarta Mail program sending through the proxy to (the sandbox's) Microsoft Graph. */
const run = promisify(execFile);
const JAVA_CP = '/usr/share/java/jakarta-mail.jar:/usr/share/java/jakarta-activation.jar';
const TO = 'ap@contoso.test';
let stack: Stack;
let classes: string;

beforeAll(async () => {
  stack = await startStack({ smtpVia: 'graph' });
  stack.sandbox.addMailbox(TO);
  classes = tempDir();
  await run('javac', ['-cp', JAVA_CP, '-d', classes, fileURLToPath(new URL('./java/LegacyClient.java', import.meta.url))]);
}, 120_000);
afterAll(() => stack?.close());

describe('Jakarta Mail through Microsoft Graph', () => {
  it('sends with Transport.send (AUTH LOGIN, 8-bit body); Graph delivers it as the program wrote it', async () => {
    const file = join(tempDir(), 'letter.eml');
    writeFileSync(file, Buffer.from(`Subject: Jakarta via Graph Grüße\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nÄrger? Keiner.\r\n`, 'utf8'));
    const { stdout } = await run('java', ['-cp', `${classes}:${JAVA_CP}`, 'LegacyClient', 'smtp', 'none', '127.0.0.1', String(stack.port('smtp')), USER, PASSWORD, file, MAILBOX, TO], { timeout: 120_000 });
    expect(stdout.trim()).toBe('sent');
    const sent = stack.sandbox.graphSent(MAILBOX);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.via).toBe('sendMail');
    expect(sent[0]!.deliveredTo).toEqual([TO]);
    expect(sent[0]!.mime.toString('utf8')).toContain('Ärger? Keiner.');
  });
});
