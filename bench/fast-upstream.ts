/**
 * The upstream of `npm run bench`: a minimal stand-in for Exchange Online that is fast enough
 * not to be what is measured (the sandbox checks every token and parses every command, and is
 * far slower). IMAP and POP3 over TLS, SMTP with STARTTLS; any XOAUTH2 is accepted; FETCH and
 * RETR serve one message from memory; DATA is counted and dropped. Clients measured directly
 * and the proxy under test use this same server. Runs in a process of its own:
 *
 *   node fast-upstream.js <cert.pem> <key.pem> <message bytes>
 *
 * and writes its ports as one JSON line: {"imap":…,"pop3":…,"smtp":…}.
 */
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, TLSSocket, type SecureContext } from 'node:tls';
import { readFileSync } from 'node:fs';
import { benchMessage } from './message.js';

type Handler = (line: string, conn: Conversation) => void | Promise<void>;

/** Larger writes than this wait for the socket to drain (the server does not stall on 16 KiB). */
const SLICE_BYTES = 256 * 1024;
const DATA_END = Buffer.from('\r\n.\r\n');

/**
 * One client's commands, handled one at a time, in order. In SMTP DATA mode the bytes are
 * only scanned for the terminator.
 */
class Conversation {
  socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #busy = false;
  /** While set, bytes are message data: the tail kept to find "\r\n.\r\n" across chunks. */
  #data: { tail: Buffer; done: () => void } | undefined;
  readonly #handler: Handler;

  constructor(socket: Socket, handler: Handler, greeting: string) {
    this.#handler = handler;
    this.socket = socket;
    this.#attach(socket);
    this.send(greeting);
  }

  send(text: string): void {
    if (!this.socket.destroyed) this.socket.write(text);
  }

  /** Writes a large buffer in slices, waiting for the socket only when far behind. */
  async sendLarge(data: Buffer): Promise<void> {
    for (let at = 0; at < data.length && !this.socket.destroyed; at += SLICE_BYTES) {
      this.socket.write(data.subarray(at, at + SLICE_BYTES));
      if (this.socket.writableLength >= 4 * SLICE_BYTES) await waitForDrain(this.socket);
    }
  }

  /** SMTP DATA: everything up to the terminator is dropped; then `done`, then commands again. */
  readData(done: () => void): void {
    this.#data = { tail: Buffer.from('\r\n'), done };
  }

  /** SMTP STARTTLS: the conversation goes on over TLS; bytes sent before the handshake are dropped. */
  startTls(secureContext: SecureContext): void {
    this.socket.removeAllListeners('data');
    this.#buffer = Buffer.alloc(0);
    this.socket = new TLSSocket(this.socket, { isServer: true, secureContext });
    this.#attach(this.socket);
  }

  #attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#next();
    });
    socket.on('error', () => socket.destroy());
  }

  #next(): void {
    while (!this.#busy && this.#buffer.length > 0) {
      if (this.#data) {
        this.#scanData();
        continue;
      }
      const end = this.#buffer.indexOf('\r\n');
      if (end === -1) return;
      const line = this.#buffer.subarray(0, end).toString('latin1');
      this.#buffer = this.#buffer.subarray(end + 2);
      const result = this.#handler(line, this);
      if (!result) continue;
      this.#busy = true;
      void result.finally(() => {
        this.#busy = false;
        this.#next();
      });
    }
  }

  #scanData(): void {
    const data = this.#data!;
    const seen = Buffer.concat([data.tail, this.#buffer]);
    const end = seen.indexOf(DATA_END);
    if (end === -1) {
      data.tail = seen.subarray(-4);
      this.#buffer = Buffer.alloc(0);
      return;
    }
    this.#buffer = seen.subarray(end + DATA_END.length);
    this.#data = undefined;
    data.done();
  }
}

function waitForDrain(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

function imap(message: Buffer): Handler {
  const literal = Buffer.from(`* 1 FETCH (BODY[] {${message.length}}\r\n`);
  return (line, conn) => {
    const [tag = '*', rawCommand = '', ...args] = line.split(' ');
    const command = rawCommand.toUpperCase() === 'UID' ? (args.shift() ?? '').toUpperCase() : rawCommand.toUpperCase();
    switch (command) {
      case 'AUTHENTICATE':
        // With its initial response (SASL-IR), as the proxy and the bench clients send it.
        return conn.send(`${tag} OK AUTHENTICATE completed.\r\n`);
      case 'CAPABILITY':
        return conn.send(`* CAPABILITY IMAP4rev1 IDLE UIDPLUS MOVE LITERAL+\r\n${tag} OK CAPABILITY completed.\r\n`);
      case 'SELECT': case 'EXAMINE':
        return conn.send(`* 1 EXISTS\r\n* OK [UIDVALIDITY 1] UIDs valid.\r\n${tag} OK [READ-WRITE] ${command} completed.\r\n`);
      case 'FETCH':
        conn.send(literal.toString('latin1'));
        return conn.sendLarge(message).then(() => conn.send(`)\r\n${tag} OK FETCH completed.\r\n`));
      case 'LOGOUT':
        conn.send(`* BYE Bye.\r\n${tag} OK LOGOUT completed.\r\n`);
        return void conn.socket.end();
      default:
        return conn.send(`${tag} OK ${command} completed.\r\n`);
    }
  };
}

function pop3(message: Buffer): Handler {
  return (line, conn) => {
    const command = line.split(' ')[0]!.toUpperCase();
    switch (command) {
      case 'AUTH':
        // With an initial response, done; without, the response follows on the next line.
        return conn.send(line.split(' ').length > 2 ? '+OK Authenticated.\r\n' : '+ \r\n');
      case 'STAT':
        return conn.send(`+OK 1 ${message.length}\r\n`);
      case 'RETR':
        conn.send(`+OK ${message.length} octets\r\n`);
        return conn.sendLarge(message).then(() => conn.send('.\r\n'));
      case 'QUIT':
        conn.send('+OK Bye.\r\n');
        return void conn.socket.end();
      default:
        // NOOP, and the XOAUTH2 response line after "+ ".
        return conn.send('+OK\r\n');
    }
  };
}

function smtp(secureContext: SecureContext): Handler {
  return (line, conn) => {
    const command = line.split(' ')[0]!.toUpperCase();
    const secure = conn.socket instanceof TLSSocket;
    switch (command) {
      case 'EHLO':
        return conn.send(`250-fast.upstream\r\n250-8BITMIME\r\n250-SIZE 157286400\r\n${secure ? '250 AUTH XOAUTH2' : '250 STARTTLS'}\r\n`);
      case 'STARTTLS':
        conn.send('220 2.0.0 SMTP server ready\r\n');
        return conn.startTls(secureContext);
      case 'AUTH':
        // With an initial response, done; without, the response follows on the next line.
        return conn.send(line.split(' ').length > 2 ? '235 2.7.0 Authentication successful\r\n' : '334 \r\n');
      case 'DATA':
        conn.send('354 Start mail input; end with <CRLF>.<CRLF>\r\n');
        return conn.readData(() => conn.send('250 2.6.0 Queued mail for delivery\r\n'));
      case 'QUIT':
        conn.send('221 2.0.0 Service closing transmission channel\r\n');
        return void conn.socket.end();
      default:
        // MAIL, RCPT, RSET, NOOP, and the XOAUTH2 response line after "334".
        return conn.send(/^[A-Z]{4}$/.test(command) ? '250 2.1.0 OK\r\n' : '235 2.7.0 Authentication successful\r\n');
    }
  };
}

/**
 * As deep an accept queue as the proxy's (Linux caps it at net.core.somaxconn): with Node's
 * default of 511, part of a 1,000-connection burst overflows it and waits a second for the
 * SYN-ACK to be sent again, and the direct burst measures that timer, not the upstream.
 */
const BACKLOG = 4096;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', BACKLOG, () => resolve((server.address() as AddressInfo).port)));
}

async function main(): Promise<void> {
  const [certFile, keyFile, bytes] = process.argv.slice(2);
  const tls = { cert: readFileSync(certFile!), key: readFileSync(keyFile!) };
  const secureContext = createSecureContext(tls);
  const message = benchMessage(Number(bytes));
  const imapHandler = imap(message);
  const pop3Handler = pop3(message);
  const smtpHandler = smtp(secureContext);
  const ports = {
    imap: await listen(createTlsServer(tls, (s) => new Conversation(s, imapHandler, '* OK fast upstream ready\r\n'))),
    pop3: await listen(createTlsServer(tls, (s) => new Conversation(s, pop3Handler, '+OK fast upstream ready\r\n'))),
    smtp: await listen(createTcpServer((s) => new Conversation(s, smtpHandler, '220 fast.upstream ESMTP ready\r\n'))),
  };
  process.stdout.write(`${JSON.stringify(ports)}\n`);
}

void main();
