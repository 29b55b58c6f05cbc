// The SMTP submission listener: plain TCP, upgraded by STARTTLS (like smtp.office365.com:587).
import { createServer, type Server } from 'node:net';
import { Connection } from '../net/connection.js';
import { SmtpSession, type SmtpContext } from './session.js';

export function createSmtpServer(connections: Set<Connection>, ctx: SmtpContext): Server {
  return createServer((socket) => {
    const conn = new Connection(socket, connections);
    ctx.stats.smtpConnections++;
    new SmtpSession(conn, ctx).run().catch(() => conn.destroy());
  });
}
