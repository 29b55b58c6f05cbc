import { BlockList, isIPv6, type Socket } from 'node:net';
import { looksLikeProxyHeader, parseProxyHeader, V2_MAX_LENGTH } from './proxy-header.js';

/** A balancer sends its header right after connecting; one that has not within this is broken. */
export const PROXY_HEADER_TIMEOUT_MS = 3000;

export interface ClientAddress {
  address: string;
  port: number;
}

export type HeaderOutcome =
  /** `source` absent: a LOCAL/UNKNOWN header, the socket's own address stands. */
  | { ok: true; source?: ClientAddress }
  | { ok: false; problem: string };

/** One spelling per address, so caps and lockouts count an IPv4 client once however it came. */
export function normalizeAddress(address: string | undefined): string {
  const lower = (address ?? '').toLowerCase();
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/.test(lower) ? lower.slice(7) : lower;
}

/** The socket's peer, normalized. */
export function socketClient(socket: Socket): ClientAddress {
  return { address: normalizeAddress(socket.remoteAddress), port: socket.remotePort ?? 0 };
}

/** The balancers a listener takes PROXY headers from: addresses and CIDR ranges (validated in the config). */
export function trustedSources(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const family = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(normalizeAddress(address), family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

export function isTrusted(list: BlockList, address: string): boolean {
  return list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
}

/**
 * Reads the PROXY header off the start of a socket: nothing more than the header is taken
 * (what follows is put back for the TLS layer or the protocol front), at most V2_MAX_LENGTH
 * bytes are held, and a header not complete within `timeoutMs` fails.
 */
export function readProxyHeader(socket: Socket, timeoutMs = PROXY_HEADER_TIMEOUT_MS): Promise<HeaderOutcome> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    const finish = (outcome: HeaderOutcome, rest?: Buffer) => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onGone);
      socket.off('close', onGone);
      if (rest && rest.length > 0) socket.unshift(rest);
      resolve(outcome);
    };
    const onReadable = () => {
      for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null;) {
        received = Buffer.concat([received, chunk]);
        const header = parseProxyHeader(received.subarray(0, V2_MAX_LENGTH));
        if (header.status === 'incomplete') continue;
        if (header.status === 'invalid') return finish({ ok: false, problem: header.problem });
        return finish(header.source ? { ok: true, source: { address: normalizeAddress(header.source.address), port: header.source.port } } : { ok: true }, received.subarray(header.length));
      }
    };
    const onGone = () => finish({ ok: false, problem: 'the connection ended before a whole PROXY header arrived' });
    const timer = setTimeout(() => finish({ ok: false, problem: `no whole PROXY header within ${timeoutMs} ms` }), timeoutMs);
    socket.on('readable', onReadable);
    socket.once('end', onGone);
    socket.once('close', onGone);
  });
}

/**
 * The first bytes of a client that must not send a PROXY header, looked at before TLS (on an
 * implicit-TLS listener the client speaks first). Resolves false on anything else, or when the
 * client says nothing within `timeoutMs`; the bytes are put back.
 */
export function sendsProxyHeader(socket: Socket, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const finish = (answer: boolean, chunk?: Buffer | null) => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('close', onClose);
      if (chunk) socket.unshift(chunk);
      resolve(answer);
    };
    const onReadable = () => {
      const chunk = socket.read() as Buffer | null;
      if (chunk !== null) finish(looksLikeProxyHeader(chunk), chunk);
    };
    const onClose = () => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('readable', onReadable);
    socket.once('close', onClose);
  });
}

/** After the greeting (server-speaks-first listeners): calls `onHeader` if the client's first bytes are a PROXY header. */
export function watchForProxyHeader(socket: Socket, onHeader: () => void): void {
  socket.prependOnceListener('data', (chunk: Buffer) => {
    if (looksLikeProxyHeader(chunk)) onHeader();
  });
}
