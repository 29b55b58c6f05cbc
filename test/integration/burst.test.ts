import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leftovers, PASSWORD, startStack, USER, type Stack } from '../helpers/stack.js';
import { WireClient } from '../helpers/wire.js';

let stack: Stack;
beforeAll(async () => {
  // One mailbox, a thousand sessions: far past Exchange's own limit, so the per-mailbox cap is
  // off here (mailbox-limits.test.ts tests it).
  stack = await startStack({ config: { upstream: { maxSessionsPerMailbox: { imap: 0 } } } });
});
afterAll(() => stack?.close());

async function loginOnce(port: number): Promise<string> {
  const client = await WireClient.open(port);
  try {
    await client.line(60_000);
    client.send(`a LOGIN ${USER} {${Buffer.byteLength(PASSWORD)}+}\r\n${PASSWORD}\r\nb LOGOUT\r\n`);
    return await client.line(60_000);
  } finally {
    client.close();
  }
}

describe('a burst of logins', () => {
  it('1,000 simultaneous IMAP logins all succeed with exactly one token request', async () => {
    const port = stack.port('imap');
    const answers = await Promise.all(Array.from({ length: 1000 }, () => loginOnce(port)));
    expect(answers.filter((a) => a.startsWith('a OK'))).toHaveLength(1000);
    expect(stack.sandbox.stats.tokenRequests).toBe(1);
    expect(stack.sandbox.stats.imapLogins).toBe(1000);
  }, 120_000);
});

// Runs last in this file: whatever the tests above did, nothing may be left behind.
it('leaves no session open and logs nothing at error level', async () => {
  expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
});
