import { isIPv4, isIPv6 } from 'node:net';

/**
 * The PROXY protocol header a load balancer puts in front of a connection (HAProxy's
 * "proxy-protocol.txt", versions 1 and 2), parsed from the first bytes a socket received.
 * Pure: no I/O, so it is tested on tables of bytes.
 *
 *   v1: "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP srcport SP dstport CRLF   (107 bytes at most)
 *       "PROXY" SP "UNKNOWN" [anything] CRLF
 *   v2: 12-byte signature, ver/cmd, family/transport, 16-bit length, addresses, TLVs
 */
export type ProxyHeader =
  | { status: 'incomplete' }
  | { status: 'invalid'; problem: string }
  /**
   * `length` bytes are the header; what follows belongs to the client. `source` is absent for
   * a v2 LOCAL (the balancer's own health check) or a v1 UNKNOWN: the socket's own address stands.
   */
  | { status: 'complete'; version: 1 | 2; length: number; source?: { address: string; port: number } };

/** The v1 maximum from the specification, CRLF included. */
export const V1_MAX_LENGTH = 107;
/**
 * v2 allows 64 KiB of TLVs; balancers send a few dozen bytes (AWS, Azure and GCP link IDs,
 * HAProxy's SSL or unique-id TLVs). A strict bound keeps a pending connection small.
 */
export const V2_MAX_LENGTH = 16 + 1024;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** Address block sizes of the v2 families: IPv4, IPv6 (UNIX sockets carry no IP). */
const V2_ADDRESS_BYTES = { 1: 12, 2: 36 } as const;

export function parseProxyHeader(data: Buffer): ProxyHeader {
  if (startsWith(data, V2_SIGNATURE)) return data.length < V2_SIGNATURE.length ? { status: 'incomplete' } : parseV2(data);
  if (startsWith(data, V1_PREFIX)) return data.length < V1_PREFIX.length ? { status: 'incomplete' } : parseV1(data);
  return { status: 'invalid', problem: 'no PROXY protocol signature' };
}

/**
 * Whether a client's first bytes look like a PROXY header (for connections that must not
 * send one). Fewer than six bytes say nothing: a person typing into telnet sends one at a time.
 */
export function looksLikeProxyHeader(data: Buffer): boolean {
  return data.length >= V1_PREFIX.length && parseProxyHeader(data).status !== 'invalid';
}

/** `data` starts with `prefix`, or is a beginning of it. */
function startsWith(data: Buffer, prefix: Buffer): boolean {
  const n = Math.min(data.length, prefix.length);
  return n > 0 && data.subarray(0, n).equals(prefix.subarray(0, n));
}

function parseV1(data: Buffer): ProxyHeader {
  const end = data.subarray(0, V1_MAX_LENGTH).indexOf('\r\n');
  if (end === -1) {
    return data.length >= V1_MAX_LENGTH ? { status: 'invalid', problem: `v1 header longer than ${V1_MAX_LENGTH} bytes` } : { status: 'incomplete' };
  }
  const length = end + 2;
  const fields = data.subarray(0, end).toString('latin1').split(' ');
  if (fields[1] === 'UNKNOWN') return { status: 'complete', version: 1, length };
  if (fields.length !== 6) return { status: 'invalid', problem: 'v1 header does not have six fields' };
  const [, family, source, destination, sourcePort, destinationPort] = fields as [string, string, string, string, string, string];
  const isAddress = family === 'TCP4' ? isIPv4 : family === 'TCP6' ? isIPv6 : undefined;
  if (!isAddress) return { status: 'invalid', problem: `v1 protocol ${JSON.stringify(family.slice(0, 16))} is not TCP4, TCP6 or UNKNOWN` };
  if (!isAddress(source) || !isAddress(destination)) return { status: 'invalid', problem: `v1 addresses are not ${family} addresses` };
  const port = v1Port(sourcePort);
  if (port === undefined || v1Port(destinationPort) === undefined) return { status: 'invalid', problem: 'v1 port is not a number from 0 to 65535' };
  return { status: 'complete', version: 1, length, source: { address: source, port } };
}

function v1Port(text: string): number | undefined {
  if (!/^(0|[1-9]\d{0,4})$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

function parseV2(data: Buffer): ProxyHeader {
  if (data.length < 16) return { status: 'incomplete' };
  const version = data[12]! >> 4;
  const command = data[12]! & 0x0f;
  if (version !== 2) return { status: 'invalid', problem: `v2 signature with version ${version}` };
  if (command > 1) return { status: 'invalid', problem: `v2 command ${command} is neither LOCAL nor PROXY` };
  const length = 16 + data.readUInt16BE(14);
  if (length > V2_MAX_LENGTH) return { status: 'invalid', problem: `v2 header of ${length} bytes is over the ${V2_MAX_LENGTH}-byte limit` };
  if (data.length < length) return { status: 'incomplete' };
  // LOCAL: the balancer speaks for itself (health checks); the address block is ignored.
  if (command === 0) return { status: 'complete', version: 2, length };
  const family = data[13]! >> 4;
  const transport = data[13]! & 0x0f;
  // UNSPEC or UNIX: nothing usable as a client address; the connection is still valid.
  if (family !== 1 && family !== 2) {
    return family === 0 || family === 3 ? { status: 'complete', version: 2, length } : { status: 'invalid', problem: `v2 address family ${family} is unknown` };
  }
  if (transport !== 1) return { status: 'invalid', problem: 'v2 header is not for a TCP (stream) connection' };
  if (length - 16 < V2_ADDRESS_BYTES[family]) return { status: 'invalid', problem: 'v2 address block is shorter than its family needs' };
  // The TLVs after the addresses (link IDs, SSL details) are not needed here, and skipped.
  const source = family === 1 ? ipv4(data.subarray(16, 20)) : ipv6(data.subarray(16, 32));
  const port = data.readUInt16BE(family === 1 ? 24 : 48);
  return { status: 'complete', version: 2, length, source: { address: source, port } };
}

function ipv4(bytes: Buffer): string {
  return [...bytes].join('.');
}

/** Shortest form (RFC 5952), as Node reports socket addresses; IPv4-mapped ones as IPv4. */
function ipv6(bytes: Buffer): string {
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return ipv4(bytes.subarray(12));
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start === -1) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}
