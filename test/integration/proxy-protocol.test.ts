import { connect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Protocol, TlsMode } from '../../src/config/types.js';
import { leftovers, PASSWORD, startStack, USER, type Stack } from '../helpers/stack.js';
import { WireClient } from '../helpers/wire.js';

/**
 * PROXY protocol headers written by the test, as a load balancer would, to listeners that trust
 * 127.0.0.1 (the balancer here) and to listeners that trust only some other balancer.
 */
const TRUSTED = ['127.0.0.1'];
const ELSEWHERE = ['192.0.2.1', '198.51.100.0/24'];

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    config: {
      clients: { maxFailedLogins: 2, maxConnectionsPerAddress: 2 },
      listeners: [
        ...(['imap', 'pop3', 'smtp'] as const).map((protocol) => ({ protocol, port: 0, tls: 'none', proxyProtocol: TRUSTED })),
        { protocol: 'imap', port: 0, tls: 'implicit', proxyProtocol: TRUSTED },
        { protocol: 'smtp', port: 0, tls: 'implicit', proxyProtocol: TRUSTED },
        // These stand for "behind some other balancer": 127.0.0.1 is not trusted there.
        ...(['imap', 'pop3', 'smtp'] as const).map((protocol) => ({ protocol, port: 0, tls: 'starttls', proxyProtocol: ELSEWHERE })),
        { protocol: 'pop3', port: 0, tls: 'implicit', proxyProtocol: ELSEWHERE },
      ],
    },
  });
});
afterAll(() => stack?.close());

function v1(address: string, port: number): string {
  return `PROXY TCP4 ${address} 10.0.0.5 ${port} 143\r\n`;
}

function v2(address: string | undefined, port: number): Buffer {
  const header = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
  if (!address) return Buffer.concat([header, Buffer.from([0x20, 0x00, 0x00, 0x00])]); // LOCAL
  const block = Buffer.alloc(12);
  address.split('.').forEach((octet, i) => (block[i] = Number(octet)));
  Buffer.from([10, 0, 0, 5]).copy(block, 4);
  block.writeUInt16BE(port, 8);
  block.writeUInt16BE(143, 10);
  return Buffer.concat([header, Buffer.from([0x21, 0x11, 0x00, 12]), block]);
}

/** A TCP connection to a listener that first sends `header`. */
async function withHeader(protocol: Protocol, tls: TlsMode, header: string | Buffer): Promise<Socket> {
  const raw = await new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: stack.port(protocol, tls) }, () => resolve(socket));
    socket.once('error', reject);
  });
  raw.write(header);
  return raw;
}

/** The same, then TLS if the listener speaks it from the first byte, as a client behind the balancer. */
async function through(protocol: Protocol, tls: TlsMode, header: string | Buffer): Promise<WireClient> {
  const raw = await withHeader(protocol, tls, header);
  if (tls !== 'implicit') return WireClient.wrap(raw);
  const secure = tlsConnect({ socket: raw, ca: stack.localCa, servername: 'localhost' });
  await new Promise((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
  return WireClient.wrap(secure);
}

/** TLS whose hello goes out in one write with the header, as a balancer may pass them on. */
async function tlsRightBehind(protocol: Protocol, header: string): Promise<WireClient> {
  const raw = await withHeader(protocol, 'implicit', '');
  let first = true;
  const carrier = new Duplex({
    write(chunk: Buffer, _encoding, callback) {
      raw.write(first ? Buffer.concat([Buffer.from(header), chunk]) : chunk, callback);
      first = false;
    },
    read() {},
    destroy(error, callback) {
      raw.destroy();
      callback(error);
    },
  });
  raw.on('data', (chunk) => carrier.push(chunk));
  raw.on('close', () => carrier.destroy());
  const secure = tlsConnect({ socket: carrier, ca: stack.localCa, servername: 'localhost' });
  await new Promise((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
  return WireClient.wrap(secure as unknown as Socket);
}

async function imapLogin(client: WireClient, password = PASSWORD): Promise<string> {
  await client.line();
  client.send(`a LOGIN ${USER} {${Buffer.byteLength(password)}+}\r\n${password}\r\n`);
  const answer = await client.line();
  client.close();
  return answer;
}

const entries = () => stack.logs.map((line) => JSON.parse(line));
const connects = () => entries().filter((e) => e.event === 'connect').map((e) => `${e.proto} ${e.client}`);
const headerRefusals = (protocol: Protocol) => stack.proxy.metrics.connectionsRefused.value({ protocol, reason: 'proxy-header' });
const lastRefusal = () => entries().filter((e) => e.event === 'connections.refused').at(-1);

describe('PROXY protocol from a trusted balancer', () => {
  it('v1 and v2, plain and implicit TLS: the session is logged with the client address the header carries', async () => {
    expect(await imapLogin(await through('imap', 'none', v1('203.0.113.7', 5555)))).toMatch(/^a OK /);
    expect(await imapLogin(await through('imap', 'implicit', v2('203.0.113.8', 5556)))).toMatch(/^a OK /);
    const pop3 = await through('pop3', 'none', v1('203.0.113.9', 5557));
    expect(await pop3.line()).toMatch(/^\+OK /);
    pop3.close();
    const smtp = await through('smtp', 'none', v2('203.0.113.10', 5558));
    expect(await smtp.line()).toMatch(/^220 /);
    smtp.close();
    const smtps = await through('smtp', 'implicit', v1('203.0.113.11', 5559));
    expect(await smtps.line()).toMatch(/^220 /);
    smtps.close();
    expect(connects()).toEqual(expect.arrayContaining(['imap 203.0.113.7:5555', 'imap 203.0.113.8:5556', 'pop3 203.0.113.9:5557', 'smtp 203.0.113.10:5558', 'smtp 203.0.113.11:5559']));
  });

  it('bytes that arrive in the same segment as the header reach the session (or the TLS layer)', async () => {
    const client = await through('imap', 'none', `${v1('203.0.113.12', 6000)}a CAPABILITY\r\n`);
    expect(await client.line()).toMatch(/^\* OK /);
    expect(await client.line()).toMatch(/^\* CAPABILITY /);
    client.close();
    const secure = await tlsRightBehind('imap', v1('203.0.113.13', 6001));
    expect(await secure.line()).toMatch(/^\* OK /);
    secure.close();
  });

  it('v2 LOCAL (a health check) keeps the balancer\'s own address', async () => {
    const client = await through('pop3', 'none', v2(undefined, 0));
    expect(await client.line()).toMatch(/^\+OK /);
    client.close();
    expect(connects().at(-1)).toMatch(/^pop3 127\.0\.0\.1:\d+$/);
  });

  it('the failed-login lockout keys on the real client address', async () => {
    for (let i = 0; i < 2; i++) expect(await imapLogin(await through('imap', 'none', v1('203.0.113.20', 7000 + i)), 'guess')).toMatch(/^a NO /);
    expect(await imapLogin(await through('imap', 'none', v1('203.0.113.20', 7002)))).toMatch(/^a NO \[AUTHENTICATIONFAILED\]/);
    const lockout = entries().find((e) => e.reason === 'too-many-failures');
    expect(lockout.hint).toMatch(/^2 failed logins from 203\.0\.113\.20:/);
    // Another client behind the same balancer is not locked out.
    expect(await imapLogin(await through('imap', 'none', v1('203.0.113.21', 7003)))).toMatch(/^a OK /);
  });

  it('the per-address cap counts the real client address, not the balancer', async () => {
    const held = [await through('imap', 'none', v1('203.0.113.30', 8000)), await through('pop3', 'none', v2('203.0.113.30', 8001))];
    for (const client of held) await client.line();
    const third = await through('smtp', 'none', v1('203.0.113.30', 8002));
    expect(await third.line()).toBe('421 4.7.0 Too many connections from your address, try again later.');
    expect(lastRefusal()).toMatchObject({ reason: 'max-connections-per-address', client: '203.0.113.30:8002' });
    const other = await through('smtp', 'none', v1('203.0.113.31', 8003));
    expect(await other.line()).toMatch(/^220 /);
    for (const client of [...held, third, other]) client.close();
  });

  it('a balancer that sends garbage, or half a header and then nothing, is cut and logged', async () => {
    const garbage = await through('imap', 'none', 'GET / HTTP/1.0\r\n\r\n');
    await garbage.ended();
    expect(lastRefusal()).toMatchObject({ reason: 'proxy-header', withoutGreeting: 1, client: expect.stringMatching(/^127\.0\.0\.1:/), detail: 'the balancer sent no valid PROXY header: no PROXY protocol signature' });
    const half = await withHeader('smtp', 'implicit', 'PROXY TCP4 203.0.113.40 ');
    const started = Date.now();
    await new Promise((resolve) => half.once('close', resolve).resume());
    expect(Date.now() - started).toBeGreaterThan(2500);
    // Logged in the next summary line (at most one per 10 s); counted at once.
    expect(await headerRefusals('smtp')).toBe(1);
  });
});

describe('PROXY protocol from an address the listener does not trust', () => {
  it('a client that sends a header is cut and logged; plain clients are served with their own address', async () => {
    for (const protocol of ['imap', 'pop3', 'smtp'] as const) {
      const before = await headerRefusals(protocol);
      const client = await through(protocol, 'starttls', v1('203.0.113.50', 9000));
      await client.ended();
      expect(await headerRefusals(protocol)).toBe(before + 1);
    }
    // On an implicit-TLS listener the first bytes are looked at before the handshake.
    const before = await headerRefusals('pop3');
    const raw = await withHeader('pop3', 'implicit', v2('203.0.113.51', 9001));
    await new Promise((resolve) => raw.once('close', resolve).resume());
    expect(await headerRefusals('pop3')).toBe(before + 1);
    const pop3s = await WireClient.open(stack.port('pop3', 'implicit'), { tls: true, ca: stack.localCa });
    expect(await pop3s.line()).toMatch(/^\+OK /);
    pop3s.close();
    const imap = await WireClient.open(stack.port('imap', 'starttls'));
    expect(await imap.line()).toMatch(/^\* OK /);
    imap.send('a NOOP\r\n');
    expect(await imap.line()).toBe('a OK NOOP completed.');
    imap.close();
    expect(connects().at(-1)).toMatch(/^imap 127\.0\.0\.1:\d+$/);
  });
});

// Runs last: whatever the tests above did, nothing may be left behind.
it('leaves no session open, logs nothing at error level, and logs every refusal by the end', async () => {
  expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
  await stack.close();
  const refusals = entries().filter((e) => e.event === 'connections.refused' && e.reason === 'proxy-header');
  expect(refusals.reduce((sum, e) => sum + e.refused, 0)).toBe(6);
  expect(refusals.at(-1)).toMatchObject({ client: expect.stringMatching(/^127\.0\.0\.1:/), detail: 'a PROXY header from an address not in the listener\'s proxyProtocol list' });
});
