// Exchange Online's per-mailbox limits as the sandbox plays them: a cap on concurrent sessions
// of one protocol (controls.sessionLimitPerMailbox) and "throttle this mailbox for N ms"
// (Sandbox.throttle). Both are checked at login, after the token, as Exchange knows the
// mailbox only then.
import type { Mailbox } from '../mail-store.js';
import type { MailProtocol } from './token-check.js';

/** Exchange's IMAP throttling text (simonrob/email-oauth2-proxy#191); POP3 is given the same words. */
export function throttledText(mailbox: Mailbox): string | undefined {
  const left = mailbox.throttledUntil - Date.now();
  return left > 0 ? `Request is throttled. Suggested Backoff Time: ${left} milliseconds` : undefined;
}

/**
 * Takes one of the mailbox's sessions for `protocol`: a release function for the end of the
 * session, or undefined when `limit` (0: none) sessions are open already.
 */
export function takeSession(mailbox: Mailbox, protocol: MailProtocol, limit: number): (() => void) | undefined {
  if (limit > 0 && mailbox.sessions[protocol] >= limit) return undefined;
  mailbox.sessions[protocol]++;
  let open = true;
  return () => {
    if (open) mailbox.sessions[protocol]--;
    open = false;
  };
}
