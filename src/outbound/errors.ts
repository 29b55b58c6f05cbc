/**
 * Why the upstream login did not happen. `rejected` (Exchange refused the token) makes the
 * proxy retry once with a fresh token; `not-connected` is Exchange's "authenticated but not
 * connected" (no permission on the mailbox). `busy`, `throttled` and `cancelled` come from the
 * per-mailbox gate: no free session in time, Exchange asked to back off, the client left while
 * waiting. Messages name the target, never a token.
 */
export type UpstreamFailureKind = 'unreachable' | 'timeout' | 'tls' | 'closed' | 'protocol' | 'rejected' | 'not-connected' | 'busy' | 'throttled' | 'cancelled';

export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
    /** The server's own words, when it said something (e.g. "NO AUTHENTICATE failed."). */
    readonly serverReply?: string,
  ) {
    super(message);
  }

  get temporary(): boolean {
    return this.kind !== 'rejected' && this.kind !== 'not-connected';
  }
}
