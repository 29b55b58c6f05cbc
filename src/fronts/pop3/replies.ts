import type { Replies } from '../replies.js';

/**
 * Every line the POP3 front writes before login (RFC 1939, RFC 2449; RFC 3206 response codes:
 * [AUTH] for credentials and setup, [SYS/TEMP] for "later").
 */

export const POP3_REPLIES: Replies = {
  ok: () => '+OK Logged in.',
  denied: () => '-ERR [AUTH] Authentication failed.',
  permanent: ({ reason }) => `-ERR [AUTH] ${reason}`,
  temporary: ({ reason }) => `-ERR [SYS/TEMP] ${reason}`,
  // The -ERR to the last failed login is the last line; the connection closes after it.
  'too-many-failures': () => undefined,
  'starttls-first': () => '-ERR [AUTH] Use STLS first.',
  unreadable: ({ problem }) => `-ERR ${problem}`,
  'too-many-bad-commands': () => '-ERR Too many invalid commands.',
  idle: () => '-ERR Disconnected for inactivity.',
  // POP3 has no unsolicited responses: the connection just closes.
  shutdown: () => undefined,
};

/** The answers to the commands the proxy handles itself. */
export const Pop3Answer = {
  greeting: () => '+OK o365-mail-proxy POP3 ready.',
  capabilities: (lines: string[]) => ['+OK Capability list follows', ...lines, '.'].join('\r\n'),
  mechanisms: (mechanisms: readonly string[]) => ['+OK Supported mechanisms follow', ...mechanisms, '.'].join('\r\n'),
  quit: () => '+OK o365-mail-proxy signing off.',
  startTls: () => '+OK Begin TLS negotiation.',
  sendPassword: () => '+OK Send the password.',
  cancelled: () => '-ERR Authentication cancelled.',
  /** A command that cannot be run; counts towards too-many-bad-commands. */
  error: (problem: string) => `-ERR ${problem}`,
};

/** The problems an -ERR names (besides the SASL exchange's). */
export const Pop3Problem = {
  unknown: 'Unknown command.',
  startTlsUnavailable: 'STLS is not available.',
  apop: 'APOP is not supported; use USER/PASS or AUTH.',
  logInFirst: 'Log in first.',
  userName: 'USER expects a name.',
  userFirst: 'Send USER first.',
  unsupportedMechanism: 'Unsupported authentication mechanism.',
};
