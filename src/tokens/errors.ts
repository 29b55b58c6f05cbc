import { aadstsReason } from './setup-advice.js';
import type { NetworkFailure } from './network-client.js';

/**
 * Why a token could not be had, in words a person can act on. `temporary` decides the answer
 * the mail client gets (IMAP NO [UNAVAILABLE] vs NO [AUTHENTICATIONFAILED], and so on).
 * The message never holds a secret: it is built from error codes, not from request data.
 */
export class TokenError extends Error {
  override readonly name = 'TokenError';
  constructor(
    /** Short reason for the mail client, e.g. "invalid client secret (AADSTS7000215)". */
    readonly reason: string,
    readonly temporary: boolean,
    /** Full cause for the log. */
    readonly detail: string,
    readonly aadsts?: string,
  ) {
    super(reason);
  }
}

const TEMPORARY_CODES = new Set(['network_error', 'request_timeout', 'temporarily_unavailable', 'service_unavailable']);

interface MsalLikeError {
  errorCode?: string;
  errorNo?: string | number;
  errorMessage?: string;
  status?: number;
  message?: string;
}

/**
 * Maps anything MSAL or the network threw to a TokenError whose `detail` is one clean line.
 * `networkFailure` is what the HTTP client saw: MSAL turns a refused connection, an unknown
 * host or an error answer to its metadata request into a bare code ("network_error",
 * "endpoints_resolution_error") with a link, and then that is the whole story.
 */
export function classifyTokenFailure(error: unknown, networkFailure?: NetworkFailure): TokenError {
  if (error instanceof TokenError) {
    const more = networkFailure && networkFailure.text !== error.detail ? `; ${networkFailure.text}` : '';
    return new TokenError(error.reason, error.temporary, `${error.detail}${more}`, error.aadsts);
  }
  const e = (error ?? {}) as MsalLikeError;
  // A status means the token endpoint answered, and MSAL passed its answer on.
  const lostByMsal = e.status === undefined && networkFailure !== undefined;
  // After a 429 or 5xx, MSAL refuses further requests for a while (Retry-After, else 60 s) and
  // replays the error with the AADSTS numbers as its code and no HTTP status: the same temporary failure.
  const throttled = e.status === undefined && /^\d+( \d+)*$/.test(e.errorCode ?? '');
  const detail = lostByMsal ? networkFailure.text : throttled ? `${describeMsalError({ ...e, errorCode: '' }, error)} (the last answer, replayed: MSAL holds requests back after a 429 or 5xx)` : describeMsalError(e, error);
  const aadsts = e.errorNo !== undefined && e.errorNo !== '' ? String(e.errorNo) : /AADSTS(\d+)/.exec(detail)?.[1];
  const status = e.status ?? networkFailure?.status ?? 0;
  const temporary = throttled || status >= 500 || status === 429 || TEMPORARY_CODES.has(e.errorCode ?? '') || (!aadsts && !(status >= 400));

  const known = aadsts ? aadstsReason(aadsts) : undefined;
  if (known && !temporary) return new TokenError(`${known} (AADSTS${aadsts})`, false, detail, aadsts);
  if (temporary) return new TokenError('token service unavailable, try again later', true, detail, aadsts);
  return new TokenError(`token request rejected${aadsts ? ` (AADSTS${aadsts})` : ''}`, false, detail, aadsts);
}

/**
 * "code: description" in one line. MSAL's message is "code: errorMessage", so the two are never
 * joined; of Entra's "Error(s): … - Timestamp: … - Description: AADSTS…: … - Correlation ID: …"
 * only the description's first line is kept (trace and correlation IDs change every time).
 */
function describeMsalError(e: MsalLikeError, error: unknown): string {
  const code = e.errorCode ?? '';
  const message = e.errorMessage || (e.message?.startsWith(`${code}: `) ? e.message.slice(code.length + 2) : e.message) || '';
  const firstLine = message.trim().split(/\r?\n/)[0] ?? '';
  const description = (/Description: (.*?)(?: - Correlation ID: .*)?$/.exec(firstLine)?.[1] ?? firstLine).trim();
  return [code, description].filter(Boolean).join(': ') || String(error);
}
