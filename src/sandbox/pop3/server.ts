// The POP3 listener (implicit TLS, like outlook.office365.com:995).
import { createServer, type Server } from 'node:tls';
import { Connection } from '../net/connection.js';
import { Pop3Session, type Pop3Context } from './session.js';

export function createPop3Server(tls: { cert: string; key: string }, connections: Set<Connection>, ctx: Pop3Context): Server {
  const server = createServer({ cert: tls.cert, key: tls.key }, (socket) => {
    const conn = new Connection(socket, connections);
    ctx.stats.pop3Connections++;
    new Pop3Session(conn, ctx).run().catch(() => conn.destroy());
  });
  server.on('tlsClientError', () => {});
  return server;
}
