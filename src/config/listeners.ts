import { isIP } from 'node:net';
import type { ListenerConfig, Protocol, TlsMode } from './types.js';
import { asObject, type JsonObject, type Validator } from './validator.js';

/** The listeners, with plain text kept off the network and each address and port used once. */
export function checkListeners(v: Validator, value: unknown): ListenerConfig[] {
  const listeners: { key: string; listener: ListenerConfig }[] = [];
  (Array.isArray(value) ? value : []).forEach((item, index) => {
    const key = `listeners[${index}]`;
    const listener = checkListener(v, key, asObject(item));
    if (!listener) return;
    const clash = listeners.find((earlier) => sharePort(earlier.listener, listener));
    if (clash) v.problem(key, portClash(listener, clash.listener, clash.key), 'give each listener its own port, or the same port on addresses that do not overlap');
    listeners.push({ key, listener });
  });
  return listeners.map((l) => l.listener);
}

/** The admin listener must not take a mail listener's port: binding it would fail at start with EADDRINUSE. */
export function checkAdminPort(v: Validator, admin: { host: string; port: number }, listeners: readonly ListenerConfig[]): void {
  const index = listeners.findIndex((listener) => sharePort(listener, admin));
  if (index < 0) return;
  v.problem('admin.port', portClash(admin, listeners[index]!, `listeners[${index}] (${listeners[index]!.protocol})`), 'give the admin listener a port of its own, e.g. 9090');
}

/**
 * Whether two listeners would fight over one port: same port (0, any free port, never clashes)
 * on addresses that overlap. A wildcard takes the port on every address of its family, and
 * "::" on IPv4 addresses too (Node listens dual-stack); "localhost" may be either loopback.
 */
function sharePort(a: { host: string; port: number }, b: { host: string; port: number }): boolean {
  if (a.port === 0 || a.port !== b.port) return false;
  const [x, y] = [canonicalHost(a.host), canonicalHost(b.host)];
  const covers = (wide: string, other: string) => wide === '::' || (wide === '0.0.0.0' && (isIP(other) === 4 || other === 'localhost'));
  const loopbacks = (name: string, other: string) => name === 'localhost' && (other === '::1' || /^127\./.test(other));
  return x === y || covers(x, y) || covers(y, x) || loopbacks(x, y) || loopbacks(y, x);
}

function portClash(listener: { host: string; port: number }, other: { host: string; port: number }, otherKey: string): string {
  const address = (l: { host: string; port: number }) => `${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;
  if (canonicalHost(listener.host) === canonicalHost(other.host)) return `${address(listener)} is already used by ${otherKey}`;
  return `${address(listener)} overlaps ${address(other)} of ${otherKey}: ${isWildcard(listener.host) || isWildcard(other.host) ? 'a wildcard address takes the port on every address' : 'both name the loopback address'}, so the second could not listen (EADDRINUSE)`;
}

/** One spelling per address (::0 is ::, 127.000.0.1 is 127.0.0.1); names stay as they are. */
function canonicalHost(host: string): string {
  if (isIP(host) === 6) return new URL(`http://[${host}]`).hostname.slice(1, -1);
  return host.toLowerCase();
}

function isWildcard(host: string): boolean {
  return ['0.0.0.0', '::'].includes(canonicalHost(host));
}

function checkListener(v: Validator, key: string, raw: JsonObject | undefined): ListenerConfig | undefined {
  if (!raw) return undefined;
  const host = v.text(raw.host, `${key}.host`);
  if (host && isIP(host) === 0 && host !== 'localhost') v.problem(`${key}.host`, `"${host}" is not an IP address`, 'use an IP address such as 127.0.0.1, ::1 or 0.0.0.0');
  if (host && raw.tls === 'none' && !isLoopback(host) && raw.allowPlaintextOnNetwork !== true) {
    v.problem(key, `listens on ${host} without TLS, so passwords would cross the network in clear text`, 'set "tls": "starttls" or "implicit", or add "allowPlaintextOnNetwork": true if you accept the risk');
  }
  const proxyProtocol = checkProxyProtocol(v, `${key}.proxyProtocol`, raw.proxyProtocol);
  if (!host || typeof raw.port !== 'number') return undefined;
  // The schema checked protocol, port and tls, and filled in host and tls.
  return { protocol: raw.protocol as Protocol, host, port: raw.port, tls: raw.tls as TlsMode, ...(proxyProtocol ? { proxyProtocol } : {}) };
}

/** The balancers trusted to send PROXY headers: IP addresses and CIDR ranges (null: off). */
function checkProxyProtocol(v: Validator, key: string, value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const entries: string[] = [];
  value.forEach((entry, index) => {
    if (typeof entry !== 'string') return;
    if (isAddressOrRange(entry)) entries.push(entry);
    else v.problem(`${key}[${index}]`, `"${entry}" is not an IP address or CIDR range`, 'list the load balancers\' addresses or ranges, e.g. ["10.0.0.0/24", "192.0.2.10"]');
  });
  return entries;
}

function isAddressOrRange(text: string): boolean {
  const [address = '', prefix, extra] = text.split('/');
  const family = isIP(address);
  const bits = family === 4 ? 32 : 128;
  const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
  return family !== 0 && prefixOk && extra === undefined;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
