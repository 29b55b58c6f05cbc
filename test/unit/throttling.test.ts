import { describe, expect, it } from 'vitest';
import { MAX_BACKOFF_MS, parseThrottling } from '../../src/upstream/throttling.js';

describe('recognizing Exchange throttling answers', () => {
  it.each([
    ['imap', '1 BAD Request is throttled. Suggested Backoff Time: 89117 milliseconds', 89117],
    ['imap', 'a7 NO Request is throttled. Suggested Backoff Time: 299910 milliseconds', 299910],
    ['pop3', '-ERR Request is throttled. Suggested Backoff Time: 1500 milliseconds', 1500],
    ['imap', '1 BAD Request is throttled. Suggested Backoff Time: 99999999999 milliseconds', MAX_BACKOFF_MS],
  ] as const)('%s %j: back off %d ms', (protocol, reply, ms) => {
    expect(parseThrottling(protocol, reply)).toEqual({ suggestedMs: ms });
  });

  it.each([
    '432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information. [Hostname=SB1PR01MB0001.sandbox.prod.outlook.com]',
    '432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded',
    '451 4.7.500 Server busy. Please try again later from [127.0.0.1]. (S77719)',
    '421 4.7.0 Temporary server error. Please try again later. PRX4',
    '421-4.4.2 Message submission rate for this client\r\n421 4.4.2 has exceeded the configured limit',
  ])('SMTP %j: back off, no time named', (reply) => {
    expect(parseThrottling('smtp', reply)).toEqual({ suggestedMs: undefined });
  });

  it.each([
    ['imap', '1 NO AUTHENTICATE failed.'],
    ['imap', '2 BAD User is authenticated but not connected.'],
    ['pop3', '-ERR Authentication failure: unknown user name or bad password.'],
    ['smtp', '454 4.7.0 Temporary authentication failure'],
    ['smtp', '430 4.2.0 STOREDRV; mailbox logon failure'],
    ['smtp', '452 4.2.2 Mailbox full; quota exceeded, try again later'],
    ['smtp', '550 5.2.251 Sender throttled due to continuous mailbox full errors.'],
    ['smtp', '535 5.7.3 Authentication unsuccessful'],
    // Only SMTP speaks in status codes; the same words over IMAP name no backoff.
    ['imap', '1 NO [UNAVAILABLE] 4.7.0 Server busy, try again later'],
  ] as const)('%s %j: not throttling', (protocol, reply) => {
    expect(parseThrottling(protocol, reply)).toBeUndefined();
  });
});
