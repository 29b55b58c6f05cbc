// Test helpers for the sandbox: a line-oriented wire client (plain, TLS, STARTTLS upgrade)
// and a token request over node:https trusting the sandbox CA.
import { request } from 'node:https';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { startSandbox, type Sandbox, type SandboxApp } from '../../src/sandbox/index.js';

export class Wire {
  #buffer = Buffer.alloc(0);
  #closed = false;
  #wake: (() => void) | undefined;

  private constructor(private socket: Socket) {
    this.#attach(socket);
  }

  static plain(port: number): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new Wire(socket)));
      socket.once('error', reject);
    });
  }

  static tls(port: number, ca: string): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => resolve(new Wire(socket)));
      socket.once('error', reject);
    });
  }

  /** Client side of STARTTLS on this connection. */
  async startTls(ca: string): Promise<void> {
    this.socket.removeAllListeners('data');
    const secure = tlsConnect({ socket: this.socket, ca, servername: 'localhost' });
    await new Promise((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.#attach(secure);
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The next line, without CRLF. */
  async line(timeoutMs = 5000): Promise<string> {
    for (;;) {
      const end = this.#buffer.indexOf('\r\n');
      if (end >= 0) {
        const line = this.#buffer.subarray(0, end).toString('latin1');
        this.#buffer = this.#buffer.subarray(end + 2);
        return line;
      }
      await this.#more(timeoutMs, 'a line');
    }
  }

  async bytes(count: number, timeoutMs = 5000): Promise<Buffer> {
    while (this.#buffer.length < count) await this.#more(timeoutMs, `${count} bytes`);
    const data = this.#buffer.subarray(0, count);
    this.#buffer = this.#buffer.subarray(count);
    return data;
  }

  /** Lines up to and including the first that matches `last`. */
  async until(last: RegExp, timeoutMs = 5000): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.line(timeoutMs);
      lines.push(line);
      if (last.test(line)) return lines;
    }
  }

  async ended(timeoutMs = 5000): Promise<void> {
    while (!this.#closed) await this.#more(timeoutMs, 'the end of the connection').catch((e) => {
      if (!this.#closed) throw e;
    });
  }

  close(): void {
    this.socket.destroy();
  }

  #attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#signal();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#signal();
    });
    socket.on('error', () => {});
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #more(timeoutMs: number, what: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`connection closed while waiting for ${what}; unread: ${JSON.stringify(this.#buffer.toString('latin1'))}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; unread: ${JSON.stringify(this.#buffer.toString('latin1'))}`)), timeoutMs);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

export interface HttpAnswer {
  status: number;
  body: Record<string, any>;
}

export function httpsJson(sandbox: Sandbox, path: string, form?: Record<string, string>): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const req = request(`${sandbox.authorityHost}${path}`, {
      method: form ? 'POST' : 'GET',
      ca: sandbox.caPem,
      headers: form ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const tokenPath = (sandbox: Sandbox, tenant = sandbox.tenantId): string => `/${tenant}/oauth2/v2.0/token`;

export async function accessToken(sandbox: Sandbox, app: SandboxApp): Promise<string> {
  const answer = await httpsJson(sandbox, tokenPath(sandbox), {
    client_id: app.clientId,
    client_secret: app.clientSecret!,
    scope: 'https://outlook.office365.com/.default',
    grant_type: 'client_credentials',
  });
  if (answer.status !== 200) throw new Error(`token request failed: ${JSON.stringify(answer.body)}`);
  return answer.body.access_token as string;
}

/** A started sandbox with one app that has FullAccess on `mailbox` (holding `messages`), and a token for that app. */
export async function tenantWithMailbox(mailbox: string, messages: Buffer[] = []): Promise<{ sandbox: Sandbox; app: SandboxApp; token: string }> {
  const sandbox = await startSandbox();
  const app = sandbox.registerApp({});
  sandbox.addMailbox(mailbox, messages);
  sandbox.grantFullAccess(mailbox, app.objectId);
  return { sandbox, app, token: await accessToken(sandbox, app) };
}

export const xoauth2 = (user: string, token: string): string => Buffer.from(`user=${user}\x01auth=Bearer ${token}\x01\x01`).toString('base64');

export function claimsOf(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}
