// Error answers shaped like Entra ID's: the OAuth `error`, an AADSTS-prefixed description
// ending in the Trace ID / Correlation ID / Timestamp trailer, and `error_codes`. Clients
// (MSAL, the proxy) parse the AADSTS number out of these, so the shape matters.
import { randomGuid } from '../ids.js';

export interface EntraError {
  status: number;
  body: Record<string, unknown>;
}

/** "2024-05-01 12:34:56Z", the timestamp format of Entra error descriptions. */
function entraTimestamp(date: Date): string {
  return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** `extra` adds fields Entra sends with some errors, such as `suberror`. */
export function entraError(status: number, error: string, code: number, message: string, correlationId = randomGuid(), extra: Record<string, unknown> = {}): EntraError {
  const traceId = randomGuid();
  const timestamp = entraTimestamp(new Date());
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
      ...extra,
    },
  };
}

export const tenantNotFound = (tenant: string, error: string, correlationId?: string): EntraError =>
  entraError(400, error, 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`, correlationId);

export const missingParameter = (name: string, correlationId?: string): EntraError =>
  entraError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`, correlationId);
