import type { HostPort } from '../config/types.js';
import type { Secret } from '../config/secret.js';
import { parseXoauth2ErrorChallenge, xoauth2InitialResponse } from './xoauth2.js';
import { describe, type UpstreamConnector } from './connector.js';
import { UpstreamError } from '../outbound/errors.js';
import type { UpstreamSession } from './session.js';
import { SocketLineReader } from './line-reader.js';

/**
 * Logs in to the upstream POP3 server with XOAUTH2 in two steps, the form Microsoft documents:
 *
 *   S: +OK ... ready
 *   C: AUTH XOAUTH2
 *   S: +
 *   C: <base64>
 *   S: +OK ...                | S: -ERR ...  | S: + <base64 JSON>  C: (empty)  S: -ERR ...
 */
export async function loginPop3(connector: UpstreamConnector, target: HostPort, mailbox: string, token: Secret, timeoutMs: number): Promise<UpstreamSession> {
  const socket = await connector.connectTls(target);
  const deadline = Date.now() + timeoutMs;
  const label = `POP3 server ${describe(target)}`;
  const reader = new SocketLineReader(socket, label);
  try {
    const greeting = await reader.readLine(deadline);
    if (!greeting.startsWith('+OK')) throw new UpstreamError('protocol', `${label} did not greet with +OK`, greeting);

    socket.write('AUTH XOAUTH2\r\n');
    const ready = await reader.readLine(deadline);
    if (!ready.startsWith('+') || ready.startsWith('+OK')) throw new UpstreamError('protocol', `${label} does not offer XOAUTH2`, ready);

    socket.write(`${xoauth2InitialResponse(mailbox, token)}\r\n`);
    let answer = await reader.readLine(deadline);
    let status: string | undefined;
    if (answer.startsWith('+') && !answer.startsWith('+OK')) {
      status = parseXoauth2ErrorChallenge(answer.slice(1).trim())?.status;
      socket.write('\r\n');
      answer = await reader.readLine(deadline);
    }
    if (!answer.startsWith('+OK')) {
      throw new UpstreamError('rejected', `${label} refused the token${status ? ` (status ${status})` : ''}`, answer);
    }
    return { socket, pending: reader.release() };
  } catch (error) {
    reader.release();
    socket.destroy();
    throw error;
  }
}
