import { connect, type Socket } from 'node:net';
import type { HostPort, HttpProxyConfig } from '../config/types.js';
import { UpstreamError } from './errors.js';

/** A proxy's answer head larger than this is not an HTTP proxy talking. */
const MAX_HEAD_BYTES = 16 * 1024;

/** `host:port` as CONNECT and Host want it (IPv6 literals in brackets). */
function authority(target: HostPort): string {
  return target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/** The CONNECT request for a tunnel to `target` (RFC 9110 section 9.3.6), with Basic credentials if configured. */
export function connectRequest(target: HostPort, proxy: HttpProxyConfig): string {
  const lines = [`CONNECT ${authority(target)} HTTP/1.1`, `Host: ${authority(target)}`];
  if (proxy.auth) {
    const basic = Buffer.from(`${proxy.auth.username}:${proxy.auth.password.reveal()}`, 'utf8').toString('base64');
    lines.push(`Proxy-Authorization: Basic ${basic}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

export interface ConnectAnswer {
  status: number;
  reason: string;
  /** Bytes after the head: the target's first words, already through the tunnel. */
  rest: Buffer;
}

/**
 * Reads the proxy's answer to CONNECT from what has arrived so far: undefined while the head
 * (up to the empty line) is incomplete; throws on something that is not an HTTP answer.
 */
export function parseConnectAnswer(received: Buffer): ConnectAnswer | undefined {
  const end = received.indexOf('\r\n\r\n');
  if (end === -1) {
    if (received.length > MAX_HEAD_BYTES) throw new Error('answer head too long');
    return undefined;
  }
  const statusLine = received.subarray(0, received.indexOf('\r\n')).toString('latin1');
  const match = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!match) throw new Error(`not an HTTP answer: ${JSON.stringify(statusLine.slice(0, 80))}`);
  return { status: Number(match[1]), reason: (match[2] ?? '').trim(), rest: received.subarray(end + 4) };
}

/**
 * A TCP connection to `target` through an HTTP proxy's CONNECT tunnel, for networks where
 * the way out is a corporate proxy. What flows inside is TLS to the target (or SMTP before
 * STARTTLS), so the proxy sees host names and ports, never a token or a message.
 */
export function openTunnel(proxy: HttpProxyConfig, target: HostPort, timeoutMs: number): Promise<Socket> {
  const via = `proxy ${proxy.host}:${proxy.port}`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: proxy.host, port: proxy.port });
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new UpstreamError('timeout', `no tunnel to ${authority(target)} through ${via} within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: UpstreamError) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      let answer: ConnectAnswer | undefined;
      try {
        answer = parseConnectAnswer(received);
      } catch (error) {
        return fail(new UpstreamError('protocol', `${via} gave a malformed answer to CONNECT: ${(error as Error).message}`));
      }
      if (!answer) return;
      // 407 is the standard answer; tinyproxy answers wrong credentials with 401.
      if (answer.status === 407 || answer.status === 401) {
        return fail(new UpstreamError('unreachable', `${via} wants credentials (HTTP ${answer.status} ${answer.reason}): ${proxy.auth ? 'upstream.httpProxy.username/password are not accepted' : 'set upstream.httpProxy.username and password'}`));
      }
      if (answer.status < 200 || answer.status > 299) {
        return fail(new UpstreamError('unreachable', `${via} refused the tunnel to ${authority(target)} (HTTP ${answer.status} ${answer.reason}); the proxy may not allow CONNECT to port ${target.port}`));
      }
      clearTimeout(timer);
      socket.off('data', onData);
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      socket.pause();
      if (answer.rest.length > 0) socket.unshift(answer.rest);
      resolve(socket);
    };
    socket.on('data', onData);
    socket.once('error', (error: NodeJS.ErrnoException) => fail(new UpstreamError('unreachable', `cannot connect to ${via}: ${error.code ?? error.message}`)));
    socket.once('close', () => fail(new UpstreamError('unreachable', `${via} closed the connection before answering CONNECT`)));
    socket.once('connect', () => {
      socket.setNoDelay(true);
      socket.write(connectRequest(target, proxy));
    });
  });
}
