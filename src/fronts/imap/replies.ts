import type { Replies } from '../replies.js';

/**
 * Every line the IMAP front writes before login (RFC 3501, RFC 5530 response codes:
 * AUTHENTICATIONFAILED for credentials and setup, UNAVAILABLE for "later").
 */

/** What an IMAP login that worked answers: the command's name and the upstream's capabilities. */
export interface ImapOk {
  command: string;
  capabilities: readonly string[];
}

/**
 * Hidden from clients after login: the login capabilities are spent, and Exchange's
 * IMAP4rev2 is reported buggy, so clients should stay on IMAP4rev1.
 */
const HIDDEN_AFTER_LOGIN = /^(AUTH=.*|SASL-IR|STARTTLS|LOGINDISABLED|IMAP4rev2)$/i;

export const IMAP_REPLIES: Replies<ImapOk> = {
  ok: ({ command, capabilities }, tag) => `${tag} OK [CAPABILITY ${capabilities.filter((c) => !HIDDEN_AFTER_LOGIN.test(c)).join(' ')}] ${command} completed.`,
  denied: (_, tag) => `${tag} NO [AUTHENTICATIONFAILED] Authentication failed.`,
  permanent: ({ reason }, tag) => `${tag} NO [AUTHENTICATIONFAILED] ${reason}`,
  temporary: ({ reason }, tag) => `${tag} NO [UNAVAILABLE] ${reason}`,
  'too-many-failures': () => '* BYE Too many failed logins.',
  'starttls-first': (_, tag) => `${tag} NO [PRIVACYREQUIRED] Use STARTTLS first.`,
  unreadable: ({ problem }) => `* BYE ${problem}`,
  'too-many-bad-commands': () => '* BYE Too many invalid commands.',
  idle: () => '* BYE Disconnected for inactivity.',
  shutdown: () => '* BYE o365-mail-proxy is shutting down.',
};

/** The answers to the commands the proxy handles itself. */
export const ImapAnswer = {
  greeting: (capabilities: string[]) => `* OK [CAPABILITY ${capabilities.join(' ')}] o365-mail-proxy IMAP4rev1 ready.`,
  capability: (tag: string, capabilities: string[]) => `* CAPABILITY ${capabilities.join(' ')}\r\n${tag} OK CAPABILITY completed.`,
  noop: (tag: string) => `${tag} OK NOOP completed.`,
  // RFC 2971: the client says who it is, we say who we are.
  id: (tag: string) => `* ID ("name" "o365-mail-proxy")\r\n${tag} OK ID completed.`,
  logout: (tag: string) => `* BYE o365-mail-proxy logging out.\r\n${tag} OK LOGOUT completed.`,
  startTls: (tag: string) => `${tag} OK Begin TLS negotiation now.`,
  /** The go-ahead for a synchronizing literal. */
  literal: () => '+ Ready for literal data',
  unsupportedMechanism: (tag: string) => `${tag} NO [CANNOT] Unsupported authentication mechanism.`,
  cancelled: (tag: string) => `${tag} BAD AUTHENTICATE cancelled.`,
  /** A command that cannot be run; counts towards too-many-bad-commands. */
  bad: (tag: string, problem: string) => `${tag} BAD ${problem}`,
};

/** The problems a BAD names (besides the command reader's and the SASL exchange's). */
export const ImapProblem = {
  startTlsUnavailable: 'STARTTLS is not available.',
  loginArguments: 'LOGIN expects a username and a password.',
  authenticateArguments: 'AUTHENTICATE expects a mechanism and an optional initial response.',
  logInFirst: 'Log in first.',
  unknown: 'Unknown command.',
};
