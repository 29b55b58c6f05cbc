import { isIP } from 'node:net';
import type { ListenerConfig, Protocol, TlsMode } from './types.js';
import { asObject, type JsonObject, type Validator } from './validator.js';

/** The listeners, with plain text kept off the network and each address used once. */
export function checkListeners(v: Validator, value: unknown): ListenerConfig[] {
  const listeners: ListenerConfig[] = [];
  const seen = new Map<string, string>();
  (Array.isArray(value) ? value : []).forEach((item, index) => {
    const key = `listeners[${index}]`;
    const listener = checkListener(v, key, asObject(item));
    if (!listener) return;
    const address = `${listener.host}:${listener.port}`;
    // Port 0 means "any free port", which never clashes.
    if (listener.port !== 0 && seen.has(address)) v.problem(key, `${address} is already used by ${seen.get(address)}`, 'give each listener its own port');
    seen.set(address, key);
    listeners.push(listener);
  });
  return listeners;
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
