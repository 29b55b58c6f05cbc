import type { Protocol } from '../config/types.js';

/**
 * Exchange Online's throttling answer over IMAP (and, in the same words, POP3), seen at login
 * and on later commands, e.g. `1 BAD Request is throttled. Suggested Backoff Time: 89117
 * milliseconds` followed by `* BYE Connection closed. 14` (simonrob/email-oauth2-proxy#191;
 * the NO form in imapsync/imapsync#198 and ikvk/imap_tools#135).
 */
const SUGGESTED_BACKOFF = /Request is throttled\.?\s*Suggested Backoff Time:\s*(\d{1,12})\s*milliseconds/i;

/**
 * SMTP submission names no time. Exchange Online answers a fourth concurrent sender with
 * `432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending ...`
 * or `432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded` (Exchange Team blog,
 * "Changes coming to the SMTP Authenticated Submission client protocol", 2018), and a busy
 * service with `451 4.7.500 Server busy. Please try again later` or `421 4.7.0 Temporary server
 * error. Please try again later`. Only 4xx replies with a throttling status (4.3.2 system limit,
 * 4.4.2 rate, 4.7.x policy) and wording count: `454 4.7.0 Temporary authentication failure` is
 * not throttling, and `452 4.2.2` (a recipient's mailbox full) is not about the sender.
 */
const SMTP_THROTTLING_STATUS = /^4\d\d[ -]4\.(?:3\.2|4\.2|7\.\d{1,3})\b/;
const SMTP_THROTTLING_WORDS = /throttl|try again later|exceeded|busy/i;

/** Upper bound on a suggested backoff, so that a garbled number cannot block a mailbox for days. */
export const MAX_BACKOFF_MS = 3_600_000;

/**
 * Whether a server reply says "back off", and for how long if it says so (`suggestedMs`
 * undefined: it names no time, use the configured default). Pure.
 */
export function parseThrottling(protocol: Protocol, reply: string): { suggestedMs: number | undefined } | undefined {
  const suggested = SUGGESTED_BACKOFF.exec(reply);
  if (suggested) return { suggestedMs: Math.min(Number(suggested[1]), MAX_BACKOFF_MS) };
  if (protocol === 'smtp' && SMTP_THROTTLING_STATUS.test(reply) && SMTP_THROTTLING_WORDS.test(reply)) return { suggestedMs: undefined };
  return undefined;
}
