import type { UpstreamConfig } from '../config/types.js';
import type { Secret } from '../config/secret.js';
import { describeRefusal, Xoauth2Client, type Xoauth2Refusal } from './xoauth2.js';
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
export async function loginPop3(connector: UpstreamConnector, upstream: UpstreamConfig, mailbox: string, token: Secret): Promise<UpstreamSession> {
  const target = upstream.pop3;
  const socket = await connector.connectTls(target);
  const deadline = Date.now() + upstream.loginTimeoutMs;
  const label = `POP3 server ${describe(target)}`;
  const reader = new SocketLineReader(socket, label);
  try {
    const greeting = await reader.readLine(deadline);
    if (!greeting.startsWith('+OK')) throw new UpstreamError('protocol', `${label} did not greet with +OK`, greeting);

    socket.write('AUTH XOAUTH2\r\n');
    const ready = await reader.readLine(deadline);
    if (!isChallenge(ready)) throw new UpstreamError('protocol', `${label} does not offer XOAUTH2`, ready);

    const sasl = new Xoauth2Client(mailbox, token);
    socket.write(`${sasl.start()}\r\n`);
    let answer = await reader.readLine(deadline);
    let refusal: Xoauth2Refusal | undefined;
    if (isChallenge(answer)) {
      const step = sasl.next(answer.slice(1).trim());
      refusal = step.refusal;
      socket.write(`${step.response}\r\n`);
      answer = await reader.readLine(deadline);
    }
    if (!answer.startsWith('+OK')) throw new UpstreamError('rejected', `${label} refused the token${describeRefusal(refusal)}`, answer);
    return { socket, pending: reader.release() };
  } catch (error) {
    reader.release();
    socket.destroy();
    throw error;
  }
}

/** A SASL continuation ("+ ..."), not a "+OK". */
function isChallenge(line: string): boolean {
  return line.startsWith('+') && !line.startsWith('+OK');
}
