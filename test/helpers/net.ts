import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for servers that cannot take port 0
 * (Dovecot, Postfix) and for "nobody listens here" tests.
 *
 * It is drawn below the kernel's ephemeral range on purpose: a port the kernel hands out for
 * port 0 is also handed to outgoing connections, so between our check and the server's bind an
 * unrelated test's client socket could take it (seen in CI as EADDRINUSE).
 */
export async function freePort(): Promise<number> {
  const [ephemeralLow] = ephemeralRange();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (ephemeralLow - 10_000));
    if (await canBind(port)) return port;
  }
  throw new Error('no free port found below the ephemeral range');
}

/**
 * A base port N for which N + each offset was free a moment ago, drawn below the ephemeral
 * range like freePort: for the demo's --port-base, so no test needs the demo's default ports.
 */
export async function freePortBase(offsets: readonly number[]): Promise<number> {
  const [ephemeralLow] = ephemeralRange();
  const highest = Math.max(...offsets);
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10_000 + Math.floor(Math.random() * (ephemeralLow - 10_000 - highest));
    if ((await Promise.all(offsets.map((offset) => canBind(base + offset)))).every(Boolean)) return base;
  }
  throw new Error('no free block of ports found below the ephemeral range');
}

function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high && low > 11_000) return [low, high];
  } catch {
    // Not Linux: fall back to the IANA dynamic range, which most other systems use.
  }
  return [49_152, 65_535];
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A stream for the proxy's logger that keeps every log line in `lines`. */
export function logCapture(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
}
