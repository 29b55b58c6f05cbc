import type { LoginFailure } from '../auth/login.js';

/**
 * Everything a front has to tell a client about how its login went or why its session ends,
 * as opposed to a command's own answer. Each protocol words every kind once, in a table
 * (imap/replies.ts, pop3/replies.ts, smtp/replies.ts): the README's "What clients see".
 * A temporary failure carries its reason: a busy or throttled mailbox, an unreachable
 * service, too many password checks at once.
 */
export type Outcome<Ok = object> =
  | ({ kind: 'ok' } & Ok)
  | LoginFailure
  /** clients.maxLoginAttemptsPerConnection denied logins on this connection. */
  | { kind: 'too-many-failures' }
  /** A login on a STARTTLS listener before STARTTLS. */
  | { kind: 'starttls-first' }
  /** The bytes cannot be read as commands any more (a line or command over the limits). */
  | { kind: 'unreadable'; problem: string }
  | { kind: 'too-many-bad-commands' }
  /** Silent for clients.idleTimeoutMs before login. */
  | { kind: 'idle' }
  /** The proxy stops. */
  | { kind: 'shutdown' };

/**
 * One protocol's words for every outcome, `tag` being the IMAP command answered (`*` when
 * none). `undefined`: the protocol has nothing to say (POP3 has no unsolicited goodbye).
 */
export type Replies<Ok = object, Line = string> = {
  readonly [K in Outcome['kind']]: (outcome: Extract<Outcome<Ok>, { kind: K }>, tag: string) => Line | undefined;
};

/** The line `replies` gives for `outcome`. */
export function replyTo<Ok, Line>(replies: Replies<Ok, Line>, outcome: Outcome<Ok>, tag = '*'): Line | undefined {
  const word = replies[outcome.kind] as (outcome: Outcome<Ok>, tag: string) => Line | undefined;
  return word(outcome, tag);
}
