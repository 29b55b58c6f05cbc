import type { SmtpReply } from '../../wire/smtp-reply.js';
import type { Replies } from '../replies.js';

/** A reply as smtp-server takes it from a hook: code, then the text (enhanced code first). */
export interface SmtpAnswer {
  code: number;
  text: string;
}

/**
 * Every reply the SMTP front words itself (RFC 4954, RFC 3463 enhanced codes). `undefined`:
 * smtp-server answers, as noted. smtp-server closes the connection after any 421.
 */
export const SMTP_REPLIES: Replies<object, SmtpAnswer> = {
  // smtp-server: 235 2.7.0 Authentication successful
  ok: () => undefined,
  denied: () => ({ code: 535, text: '5.7.8 Authentication credentials invalid' }),
  permanent: ({ reason }) => ({ code: 535, text: `5.7.8 ${reason}` }),
  temporary: ({ reason }) => ({ code: 454, text: `4.7.0 ${reason}` }),
  'too-many-failures': () => ({ code: 421, text: '4.7.0 Too many failed logins, closing connection' }),
  // smtp-server: 538 5.7.0 Error: Must issue a STARTTLS command first
  'starttls-first': () => undefined,
  // smtp-server: 421 Error: Command line too long
  unreadable: () => undefined,
  // smtp-server: 421 Error: too many unrecognized commands
  'too-many-bad-commands': () => undefined,
  // smtp-server: 421 Timeout - closing connection
  idle: () => undefined,
  // RFC 3463 4.3.2: system not accepting network messages.
  shutdown: () => ({ code: 421, text: '4.3.2 o365-mail-proxy is shutting down, try again later' }),
};

/** The SMTP front's other answers. */
export const SmtpAnswers = {
  authenticationRequired: { code: 530, text: '5.7.0 Authentication required' },
  alreadyAuthenticated: { code: 503, text: '5.5.1 Already authenticated' },
  /** In the middle of a transaction; a new MAIL reconnects on its own. */
  upstreamLost: { code: 421, text: '4.4.2 Connection to the mail server was lost, try again' },
  /** A login that failed in an unexpected way (a bug, not a refusal). */
  loginFailed: (error: Error): SmtpAnswer => ({ code: 454, text: `4.7.0 ${error.message}` }),
  /** Exchange's own reply, in the one line smtp-server writes: its enhanced code kept, continuation lines joined. */
  relayed: (reply: SmtpReply): SmtpAnswer => ({ code: reply.code, text: reply.lines.join(' ').trim() || 'Error' }),
} satisfies Record<string, SmtpAnswer | ((...args: never[]) => SmtpAnswer)>;

/** An smtp-server hook's error that makes it send `answer`. */
export function asError(answer: SmtpAnswer): Error & { responseCode: number } {
  return Object.assign(new Error(answer.text), { responseCode: answer.code });
}
