// What a Graph handler answers, before the server adds the per-request parts (request-id,
// client-request-id, date). Handlers return these instead of writing, so that the server can
// also cut the connection after acting (a "dropped answer") and count statuses in one place.

export interface GraphAnswer {
  status: number;
  headers?: Record<string, string>;
  /** A JSON body; none for 202/204 and the last upload chunk. */
  json?: Record<string, unknown>;
  /** An error: rendered as Graph's `{"error":{"code","message","innerError":{...}}}`. */
  error?: { code: string; message: string };
}

export const graphError = (status: number, code: string, message: string, headers?: Record<string, string>): GraphAnswer =>
  ({ status, error: { code, message }, ...(headers ? { headers } : {}) });

/** Graph's answer to a caller whose app lacks the permission (role) the call needs. */
export const accessDenied = (): GraphAnswer => graphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');

/** Exchange's "no such item" (a message id that is not, or no longer, in the mailbox). */
export const itemNotFound = (): GraphAnswer => graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');

export const badRequest = (message: string): GraphAnswer => graphError(400, 'BadRequest', message);

/**
 * The JSON body of an error, with Graph's innerError. `date` is without fraction or zone,
 * as Graph writes it ("2024-05-01T12:34:56").
 */
export function errorBody(error: { code: string; message: string }, requestId: string, clientRequestId: string, now = new Date()): Record<string, unknown> {
  return {
    error: {
      code: error.code,
      message: error.message,
      innerError: { date: now.toISOString().replace(/\.\d+Z$/, ''), 'request-id': requestId, 'client-request-id': clientRequestId },
    },
  };
}

/**
 * Exchange's refusal of a message over the mailbox's size limit (code and text as Graph users
 * report them; the status is not reported and assumed to be 400).
 */
export const messageTooLarge = (): GraphAnswer => graphError(400, 'ErrorMessageSizeExceeded', 'The message exceeds the maximum supported size.');
