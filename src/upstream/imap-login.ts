import type { HostPort, UpstreamConfig } from '../config/types.js';
import type { Secret } from '../config/secret.js';
import { describeRefusal, Xoauth2Client, type Xoauth2Refusal } from './xoauth2.js';
import { describe, type UpstreamConnector } from './connector.js';
import { UpstreamError } from '../outbound/errors.js';
import { SocketLineReader } from './line-reader.js';
import type { UpstreamSession } from './session.js';

export interface ImapUpstreamSession extends UpstreamSession {
  /** The server's post-login capabilities. */
  capabilities: string[];
}

/**
 * Logs in to the upstream IMAP server with XOAUTH2 (SASL-IR, one line, as Exchange does):
 *
 *   S: * OK ... ready
 *   C: 1 AUTHENTICATE XOAUTH2 <base64>
 *   S: 1 OK ...                              | S: + <base64 JSON>  C: (empty)  S: 1 NO ...
 *   C: 2 CAPABILITY                          (also proves the mailbox is reachable: without
 *   S: * CAPABILITY ... / 2 OK ...            permission Exchange answers "BAD User is
 *                                             authenticated but not connected.")
 */
export async function loginImap(connector: UpstreamConnector, upstream: UpstreamConfig, mailbox: string, token: Secret): Promise<ImapUpstreamSession> {
  const target = upstream.imap;
  const socket = await connector.connectTls(target);
  const deadline = Date.now() + upstream.loginTimeoutMs;
  const reader = new SocketLineReader(socket, `IMAP server ${describe(target)}`);
  try {
    const greeting = await reader.readLine(deadline);
    if (!/^\* OK\b/i.test(greeting)) throw new UpstreamError('protocol', `IMAP server ${describe(target)} did not greet with OK`, greeting);

    const sasl = new Xoauth2Client(mailbox, token);
    socket.write(`1 AUTHENTICATE XOAUTH2 ${sasl.start()}\r\n`);
    let capabilities: string[] | undefined;
    for (;;) {
      const line = await reader.readLine(deadline);
      if (line.startsWith('+')) {
        const step = sasl.next(line.slice(1).trim());
        socket.write(`${step.response}\r\n`);
        const final = await readTagged(reader, '1', deadline);
        throw rejected(target, final.line, step.refusal);
      }
      capabilities = parseCapabilityLine(line) ?? capabilities;
      const tagged = /^1 (OK|NO|BAD)\b/i.exec(line);
      if (!tagged) continue;
      if (tagged[1]!.toUpperCase() !== 'OK') throw rejected(target, line);
      break;
    }

    socket.write('2 CAPABILITY\r\n');
    const answer = await readTagged(reader, '2', deadline);
    capabilities = answer.capabilities ?? capabilities;
    if (answer.status !== 'OK') {
      throw new UpstreamError('not-connected', `IMAP server ${describe(target)} accepted the token but not a command for ${mailbox}`, answer.line);
    }
    return { socket, capabilities: capabilities ?? [], pending: reader.release() };
  } catch (error) {
    reader.release();
    socket.destroy();
    throw error;
  }
}

async function readTagged(reader: SocketLineReader, tag: string, deadline: number) {
  let capabilities: string[] | undefined;
  for (;;) {
    const line = await reader.readLine(deadline);
    capabilities = parseCapabilityLine(line) ?? capabilities;
    const match = new RegExp(`^${tag} (OK|NO|BAD)\\b`, 'i').exec(line);
    if (match) return { status: match[1]!.toUpperCase(), line, capabilities };
  }
}

/** `* CAPABILITY a b c` → [a, b, c]; also the `[CAPABILITY ...]` response code. */
export function parseCapabilityLine(line: string): string[] | undefined {
  const untagged = /^\* CAPABILITY (.*)$/i.exec(line);
  const code = /\[CAPABILITY ([^\]]*)\]/i.exec(line);
  const list = untagged?.[1] ?? code?.[1];
  return list === undefined ? undefined : list.trim().split(/\s+/).filter(Boolean);
}

function rejected(target: HostPort, reply: string, refusal?: Xoauth2Refusal): UpstreamError {
  return new UpstreamError('rejected', `IMAP server ${describe(target)} refused the token${describeRefusal(refusal)}`, reply);
}
