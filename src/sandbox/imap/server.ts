// The IMAP listener (implicit TLS, like outlook.office365.com:993).
import { createServer, type Server } from 'node:tls';
import { Connection } from '../net/connection.js';
import { ImapSession, type ImapContext } from './session.js';

export function createImapServer(tls: { cert: string; key: string }, connections: Set<Connection>, ctx: ImapContext): Server {
  const server = createServer({ cert: tls.cert, key: tls.key }, (socket) => {
    const conn = new Connection(socket, connections);
    ctx.stats.imapConnections++;
    new ImapSession(conn, ctx).run().catch(() => conn.destroy());
  });
  // A client that fails the handshake (wrong CA, plain text) is its own problem, not a crash.
  server.on('tlsClientError', () => {});
  return server;
}
