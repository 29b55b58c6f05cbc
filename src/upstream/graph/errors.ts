import type { HttpResponse } from './http.js';

/**
 * Graph answered with an error status. `code` and `text` are Graph's own (`error.code`,
 * the first line of `error.message`), e.g. 403 ErrorSendAsDenied; `requestId` is what
 * Microsoft support asks for.
 */
export class GraphError extends Error {
  override readonly name = 'GraphError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly text: string,
    readonly requestId: string | undefined,
    /** The call that got it (sendMail, createDraft, send, …). */
    readonly operation = '',
  ) {
    super(`Microsoft Graph answered HTTP ${status}${code ? ` ${code}` : ''}${text ? `: ${text}` : ''}${operation ? ` (${operation})` : ''}`);
  }
}

/** Graph asked to wait longer than the message's deadline leaves. */
export class GraphThrottled extends Error {
  override readonly name = 'GraphThrottled';
  constructor(readonly status: number, readonly waitMs: number, readonly requestId: string | undefined) {
    super(`Microsoft Graph answered HTTP ${status} and asked to wait ${Math.ceil(waitMs / 1000)} s`);
  }
}

/**
 * No answer from Graph. `mayHaveActed`: the request had been sent in full, so for a send the
 * message may be on its way; the caller must not simply repeat it.
 */
export class GraphUnreachable extends Error {
  override readonly name = 'GraphUnreachable';
  constructor(message: string, readonly mayHaveActed: boolean) {
    super(message);
  }
}

/** The error of an answer: Graph's JSON error body when there is one, else the bare status. */
export function graphErrorOf(response: HttpResponse, operation = ''): GraphError {
  let code = '';
  let text = '';
  try {
    const body = JSON.parse(response.body.toString('utf8')) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') text = body.error.message.split(/\r?\n/)[0]!.slice(0, 300);
  } catch {
    // Not JSON (a proxy's or gateway's page): the status says enough.
  }
  return new GraphError(response.status, code, text, response.headers['request-id'], operation);
}
