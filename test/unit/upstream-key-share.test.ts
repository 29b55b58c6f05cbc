import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSelfSignedCertificate, type GeneratedCertificate } from '../../src/ops/self-signed-certificate.js';
import { UpstreamConnector } from '../../src/upstream/connector.js';

let cert: GeneratedCertificate;
let server: Server | undefined;
const sockets: TLSSocket[] = [];
beforeAll(async () => { cert = await generateSelfSignedCertificate(); });
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await new Promise((resolve) => server ? server.close(resolve) : resolve(undefined));
  server = undefined;
});

/** A TLS 1.3 IMAP-like server on loopback that accepts only the given key-exchange groups. */
async function upstreamWith(groups: string): Promise<number> {
  server = createServer({ key: cert.keyPem, cert: cert.certPem, minVersion: 'TLSv1.3', ecdhCurve: groups }, (socket) => {
    socket.on('error', () => {});
    socket.write('* OK ready\r\n');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server!.address() as AddressInfo).port;
}

async function connect(port: number): Promise<TLSSocket> {
  const connector = new UpstreamConnector({ ca: cert.certPem, connectTimeoutMs: 5000, tlsTimeoutMs: 5000 });
  const socket = await connector.connectTls({ host: '127.0.0.1', port });
  sockets.push(socket);
  return socket;
}

describe('upstream TLS key exchange', () => {
  it('sends a P-256 key share, which an idle TLS 1.3 connection holds for its life in less memory than X25519', async () => {
    const socket = await connect(await upstreamWith('X25519:P-256:P-384'));
    expect(socket.getProtocol()).toBe('TLSv1.3');
    expect(socket.getEphemeralKeyInfo()).toMatchObject({ type: 'ECDH', name: 'prime256v1' });
  });

  it('still connects to a server that takes only X25519 (it asks for that share)', async () => {
    const socket = await connect(await upstreamWith('X25519'));
    expect(socket.getEphemeralKeyInfo()).toMatchObject({ name: 'X25519' });
    const greeting = await new Promise<string>((resolve) => socket.once('data', (data: Buffer) => resolve(data.toString())));
    expect(greeting).toBe('* OK ready\r\n');
  });
});
