import type { SMTPServerAddress, SMTPServerDataStream } from 'smtp-server';
import type { TokenProvider } from '../../tokens/provider.js';
import { fromAddress, messageHeader, sameAddress, withMessageId } from '../../upstream/graph/mime-headers.js';
import { sendThroughGraph } from '../../upstream/graph/send.js';
import { graphFailureReply } from './graph-replies.js';
import type { GraphSending, RelaySession } from './session-state.js';
import type { SmtpAnswer } from './replies.js';


/** Exchange Online takes at most 500 recipients per message. */
const MAX_RECIPIENTS = 500;

export function newGraphSending(tokens: TokenProvider): GraphSending {
  const sending: GraphSending = { tokens, awaitingVerdict: false, closed: false, close: () => { sending.closed = true; } };
  return sending;
}

/** MAIL FROM: a new transaction, unless the announced size is already over the limit (RFC 1870). */
export function graphMailFrom(relay: RelaySession, graph: GraphSending, address: SMTPServerAddress): SmtpAnswer | undefined {
  const size = Number(address.args ? (address.args as Record<string, string>).SIZE ?? 0 : 0);
  if (size > relay.ctx.config.upstream.graph.maxMessageBytes) return { code: 552, text: '5.3.4 Message size exceeds fixed maximum message size' };
  graph.transaction = { from: address.address, recipients: [] };
  relay.transactionOpen = true;
  return undefined;
}

export function graphRcptTo(graph: GraphSending, address: SMTPServerAddress): SmtpAnswer | undefined {
  const transaction = graph.transaction!;
  if (transaction.recipients.length >= MAX_RECIPIENTS) return { code: 452, text: '4.5.3 Too many recipients' };
  transaction.recipients.push(address.address);
  return undefined;
}

/**
 * DATA: the whole message is read (up to upstream.graph.maxMessageBytes), then sent through
 * Graph; undefined means Graph accepted it (smtp-server then says 250).
 */
export async function graphData(relay: RelaySession, graph: GraphSending, stream: SMTPServerDataStream): Promise<SmtpAnswer | undefined> {
  const { mailbox } = relay.account!;
  const transaction = graph.transaction!;
  const message = await readMessage(stream, relay.ctx.config.upstream.graph.maxMessageBytes);
  graph.transaction = undefined;
  relay.transactionOpen = false;
  if (!message) return { code: 552, text: '5.3.4 Message size exceeds fixed maximum message size' };
  const from = fromAddress(messageHeader(message)) ?? mailbox;
  const sender = transaction.from;
  // Graph sends as the From address; an envelope sender other than it or the mailbox would be lost.
  if (sender !== '' && !sameAddress(sender, mailbox) && !sameAddress(sender, from)) {
    return { code: 550, text: `5.7.60 Envelope sender ${sender} is neither the mailbox ${mailbox} nor the message's From address` };
  }
  if (graph.closed || relay.left.signal.aborted) return { code: 421, text: '4.3.2 o365-mail-proxy is shutting down, try again later' };
  const started = Date.now();
  graph.awaitingVerdict = true;
  try {
    const ctx = { mailbox, tokens: graph.tokens, deadline: started + relay.ctx.config.upstream.graph.sendTimeoutMs, log: relay.log };
    const sent = await sendThroughGraph(relay.ctx.graph, ctx, withMessageId(message, mailbox.split('@')[1]!), transaction.recipients);
    relay.messages++;
    relay.ctx.metrics.messagesSent.add({ path: 'graph' });
    relay.log.info({ event: 'graph.sent', bytes: message.length, recipients: transaction.recipients.length, durationMs: Date.now() - started, requestId: sent.requestId, via: sent.path }, 'message sent through Microsoft Graph');
    return undefined;
  } catch (error) {
    const token = await graph.tokens.getToken().catch(() => undefined);
    const { reply, hint } = graphFailureReply(error, { mailbox, from, roles: token?.claims?.roles, appId: token?.claims?.appid });
    const level = reply.code >= 500 ? 'warn' : 'info';
    relay.log[level]({ event: 'graph.refused', code: reply.code, reply: `${reply.code} ${reply.text}`, cause: (error as Error).message, requestId: (error as { requestId?: string }).requestId, durationMs: Date.now() - started, ...(hint ? { hint } : {}) }, `message not sent through Microsoft Graph: ${reply.code} ${reply.text}`);
    return reply;
  } finally {
    graph.awaitingVerdict = false;
  }
}

/** The message as the client sent it (dot-unstuffed), or undefined once it passes `max` bytes (the rest is read and dropped). */
function readMessage(stream: SMTPServerDataStream, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
      else chunks.length = 0;
    });
    let ended = false;
    stream.once('error', reject);
    stream.once('end', () => {
      ended = true;
      resolve(size <= max ? Buffer.concat(chunks, size) : undefined);
    });
    // Destroyed without an error: the client is gone, and nothing is sent.
    stream.once('close', () => {
      if (!ended) reject(new Error('the client left during DATA'));
    });
  });
}
