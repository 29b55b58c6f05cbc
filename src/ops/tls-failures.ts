import type { Logger } from 'pino';

/**
 * A client's failed TLS handshake with a local listener, in words for the operator: a client
 * that does not trust the proxy's certificate, or that speaks without TLS on a TLS port, fails
 * every login and the client's own error ("PKIX path building failed", "SSL certificate
 * problem") says nothing about the proxy. Pure: reads OpenSSL's codes, no I/O.
 */
export interface ClientTlsFailure {
  /** OpenSSL's reason ("tlsv1 alert unknown ca"), or what happened. */
  cause: string;
  /** What to do, when the failure says. */
  hint?: string;
  /** The client went away or never spoke (port probes, health checks): not worth an info line. */
  quiet: boolean;
}

/** The alerts a client sends when it refuses the server's certificate (RFC 8446 section 6.2). */
const CERTIFICATE_REFUSED = /ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE)$/;
const NOT_TLS = /_(WRONG_VERSION_NUMBER|HTTP_REQUEST|HTTPS_PROXY_REQUEST|UNKNOWN_PROTOCOL)$/;
const OLD_TLS = /_(UNSUPPORTED_PROTOCOL|NO_SHARED_CIPHER|VERSION_TOO_LOW|NO_PROTOCOLS_AVAILABLE|ALERT_PROTOCOL_VERSION|ALERT_HANDSHAKE_FAILURE)$/;

const HINTS = {
  certificate: 'the client refused the proxy\'s certificate: give it the certificate (certs/localhost.crt: curl --cacert, a Java trust store) and connect by a name the certificate holds (gen-cert --host)',
  notTls: 'the client spoke without TLS on a TLS port: use a tls "none" or "starttls" listener for it, or turn on SSL/TLS in the client',
  oldTls: 'the client offers no TLS version or cipher this Node accepts (TLS 1.2 or later): update the client or its Java',
  silent: 'the client sent nothing: it may be waiting for a plain-text greeting on this TLS port (use a tls "none" or "starttls" listener for it)',
};

export function describeClientTlsFailure(error: Error & { code?: string; reason?: string }): ClientTlsFailure {
  const code = error.code ?? '';
  const cause = error.reason ?? error.message.split('\n')[0] ?? 'TLS handshake failed';
  if (CERTIFICATE_REFUSED.test(code)) return { cause, hint: HINTS.certificate, quiet: false };
  if (NOT_TLS.test(code)) return { cause, hint: HINTS.notTls, quiet: false };
  if (OLD_TLS.test(code)) return { cause, hint: HINTS.oldTls, quiet: false };
  if (/timed out/.test(error.message)) return { cause, hint: HINTS.silent, quiet: false };
  const gone = code === 'ECONNRESET' || code === 'EPIPE' || code === 'SocketError' || !code;
  return { cause, quiet: gone };
}

export interface TlsFailureContext {
  /** The listener's address and port, as bound. */
  listener: string;
  tls: 'starttls' | 'implicit';
  /** Unless the logger has them bound already (a session's logger). */
  proto?: string;
  /** The client's address (and port, where known). */
  client?: string;
}

/** One line per failed handshake, like a session's `connect` line; a client that left without a word at debug only. */
export function logClientTlsFailure(log: Logger, error: Error, context: TlsFailureContext): void {
  const failure = describeClientTlsFailure(error);
  log[failure.quiet ? 'debug' : 'info']({ event: 'tls.client-error', ...context, cause: failure.cause, ...(failure.hint ? { hint: failure.hint } : {}) }, 'client TLS handshake failed');
}

/** "127.0.0.1:993", "[::]:993". */
export function listenerAddress(host: string, port: number | undefined): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port ?? 0}`;
}
