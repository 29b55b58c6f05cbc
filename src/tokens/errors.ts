import { aadstsReason } from './setup-advice.js';

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

/**
 * Maps anything MSAL or the network threw to a TokenError. `networkFailure` is what the HTTP
 * client saw, for the log: MSAL turns a refused connection into a bare "endpoints_resolution_error".
 */
export function classifyTokenFailure(error: unknown, networkFailure?: string): TokenError {
  if (error instanceof TokenError) return networkFailure ? new TokenError(error.reason, error.temporary, `${error.detail}; ${networkFailure}`, error.aadsts) : error;
  const e = (error ?? {}) as { errorCode?: string; errorNo?: string | number; errorMessage?: string; status?: number; message?: string };
  const text = `${e.errorMessage ?? ''} ${e.message ?? ''}`;
  const aadsts = e.errorNo !== undefined ? String(e.errorNo) : /AADSTS(\d+)/.exec(text)?.[1];
  // After a 429 or 5xx, MSAL refuses further requests for a while and replays the error with
  // the AADSTS numbers as its code and no HTTP status: that is the same temporary failure.
  const throttled = e.status === undefined && /^\d+( \d+)*$/.test(e.errorCode ?? '');
  // The first line of an AADSTS message is the useful part; the rest is trace and correlation IDs.
  const detail = [[e.errorCode, text.trim().split(/\r?\n/)[0]].filter(Boolean).join(': ') || String(error), networkFailure].filter(Boolean).join('; ');
  const status = e.status ?? 0;
  const temporary = throttled || status >= 500 || status === 429 || TEMPORARY_CODES.has(e.errorCode ?? '') || (!aadsts && !(status >= 400));

  const known = aadsts ? aadstsReason(aadsts) : undefined;
  if (known && !temporary) return new TokenError(`${known} (AADSTS${aadsts})`, false, detail, aadsts);
  if (temporary) return new TokenError('token service unavailable, try again later', true, detail, aadsts);
  return new TokenError(`token request rejected${aadsts ? ` (AADSTS${aadsts})` : ''}`, false, detail, aadsts);
}
