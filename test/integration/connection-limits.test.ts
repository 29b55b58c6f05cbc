import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Protocol, TlsMode } from '../../src/config/types.js';
import { leftovers, PASSWORD, startStack, USER, type Stack } from '../helpers/stack.js';
import { PATIENCE } from '../helpers/wait.js';
import { WireClient } from '../helpers/wire.js';

let stack: Stack | undefined;
let clients: WireClient[] = [];
afterEach(async () => {
  for (const client of clients) client.close();
  clients = [];
  await stack?.close();
  stack = undefined;
});

/** Opens a client and reads its first line (the greeting, or the refusal). */
async function greeted(protocol: Protocol, options: { tls?: TlsMode; localAddress?: string } = {}): Promise<{ client: WireClient; first: string }> {
  const tls = options.tls ?? 'none';
  const client = await WireClient.open(stack!.port(protocol, tls), { tls: tls === 'implicit', ca: stack!.localCa, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
  clients.push(client);
  return { client, first: await client.line() };
}

const refusedLines = (s: Stack) => s.logs.map((line) => JSON.parse(line)).filter((entry) => entry.event === 'connections.refused');
const refusedMetric = (s: Stack, protocol: string, reason: string) => s.proxy.metrics.connectionsRefused.value({ protocol, reason });

describe('clients.maxConnections', () => {
  it('past it, every protocol says its own "try later" and closes, on every TLS mode', async () => {
    stack = await startStack({ config: { clients: { maxConnections: 2 } } });
    expect((await greeted('imap')).first).toMatch(/^\* OK /);
    // SMTP sessions count too, though smtp-server owns their sockets.
    expect((await greeted('smtp')).first).toMatch(/^220 /);

    const expected: Record<Protocol, string> = {
      imap: '* BYE [UNAVAILABLE] Too many connections, try again later.',
      pop3: '-ERR [SYS/TEMP] Too many connections, try again later.',
      smtp: '421 4.7.0 Too many connections, try again later.',
    };
    for (const protocol of ['imap', 'pop3', 'smtp'] as const) {
      for (const tls of ['none', 'starttls', 'implicit'] as const) {
        const { client, first } = await greeted(protocol, { tls });
        expect(first, `${protocol} ${tls}`).toBe(expected[protocol]);
        await client.ended();
      }
    }
    expect(await refusedMetric(stack, 'imap', 'max-connections')).toBe(3);
    expect(await refusedMetric(stack, 'smtp', 'max-connections')).toBe(3);
    // Refused connections hold nothing once closed.
    await vi.waitFor(() => expect(stack!.proxy.openConnections()).toBe(2), PATIENCE);
  });

  it('counts a connection until its socket closes, then lets the next one in', async () => {
    stack = await startStack({ config: { clients: { maxConnections: 2 } } });
    const smtp = await greeted('smtp');
    const pop3 = await greeted('pop3');
    expect((await greeted('imap')).first).toMatch(/^\* BYE \[UNAVAILABLE\]/);
    smtp.client.send('QUIT\r\n');
    expect(await smtp.client.line()).toMatch(/^221 /);
    await smtp.client.ended();
    await vi.waitFor(() => expect(stack!.proxy.openConnections()).toBe(1), PATIENCE);
    const imap = await greeted('imap');
    expect(imap.first).toMatch(/^\* OK /);
    imap.client.send(`a LOGIN ${USER} {${Buffer.byteLength(PASSWORD)}+}\r\n${PASSWORD}\r\n`);
    expect(await imap.client.line()).toMatch(/^a OK /);
    pop3.client.close();
    imap.client.close();
    expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
    expect(stack.proxy.openConnections()).toBe(0);
  });

  it('logs refusals at most once per 10 s per reason, with how many there were', async () => {
    stack = await startStack({ config: { clients: { maxConnections: 1 } } });
    await greeted('imap');
    for (let i = 0; i < 5; i++) await (await greeted('pop3')).client.ended();
    const lines = refusedLines(stack);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, reason: 'max-connections', refused: 1, proto: 'pop3', detail: 'clients.maxConnections (1) reached', client: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(await refusedMetric(stack, 'pop3', 'max-connections')).toBe(5);
    // The four since then are not lost: they come in the next line (here: at shutdown).
    await stack.close();
    const after = refusedLines(stack);
    expect(after).toHaveLength(2);
    expect(after[1]).toMatchObject({ reason: 'max-connections', refused: 4 });
    stack = undefined;
  });

  it('cuts a flood of over-limit connections that never speak, so they cannot pile up', async () => {
    stack = await startStack({ config: { clients: { maxConnections: 1 } } });
    await greeted('imap');
    // Over-limit clients on an implicit-TLS listener that never send their TLS hello.
    const port = stack.port('imap', 'implicit');
    const sockets = await Promise.all(Array.from({ length: 60 }, () => new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
      socket.on('error', reject);
    })));
    const closed = sockets.map((socket) => new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now()))));
    const started = Date.now();
    // All but the few refusals allowed at once are cut right away; those few at their deadline.
    await vi.waitFor(() => expect(sockets.filter((s) => s.destroyed || s.readableEnded).length).toBeGreaterThanOrEqual(60 - 16), { ...PATIENCE, timeout: 2000 });
    const times = await Promise.all(closed);
    expect(Math.max(...times) - started).toBeLessThan(7000);
    expect(await refusedMetric(stack, 'imap', 'max-connections')).toBe(60);
    await vi.waitFor(() => expect(stack!.proxy.openConnections()).toBe(1), PATIENCE);
    for (const socket of sockets) socket.destroy();
  });
});

describe('a reload', () => {
  it('applies changed limits to new connections and cuts none', async () => {
    stack = await startStack({ config: { clients: { maxConnections: 3 } } });
    const held = [await greeted('imap'), await greeted('pop3')];
    const config = stack.proxy.context().config;
    stack.proxy.reload({ ...config, clients: { ...config.clients, maxConnections: 1 } });
    expect((await greeted('smtp')).first).toMatch(/^421 4\.7\.0 Too many connections/);
    for (const { client } of held) {
      client.send(client === held[0]!.client ? 'a NOOP\r\n' : 'CAPA\r\n');
      expect(await client.line()).toMatch(/^(a OK|\+OK)/);
    }
    stack.proxy.reload({ ...config, clients: { ...config.clients, maxConnections: 3 } });
    expect((await greeted('smtp')).first).toMatch(/^220 /);
  });
});

describe('clients.maxConnectionsPerAddress', () => {
  it('refuses one address past it while another address still gets in', async () => {
    stack = await startStack({ config: { clients: { maxConnectionsPerAddress: 2 } } });
    expect((await greeted('imap')).first).toMatch(/^\* OK /);
    expect((await greeted('smtp')).first).toMatch(/^220 /);
    expect((await greeted('pop3')).first).toBe('-ERR [SYS/TEMP] Too many connections from your address, try again later.');
    expect((await greeted('pop3', { localAddress: '127.0.0.2' })).first).toMatch(/^\+OK /);
    expect(refusedLines(stack)[0]).toMatchObject({ reason: 'max-connections-per-address', client: expect.stringMatching(/^127\.0\.0\.1:/), detail: 'clients.maxConnectionsPerAddress (2) reached' });
    expect(await refusedMetric(stack, 'pop3', 'max-connections-per-address')).toBe(1);
  });

  it('is off at 0', async () => {
    stack = await startStack({ config: { clients: { maxConnectionsPerAddress: 0, maxConnections: 5 } } });
    for (let i = 0; i < 5; i++) expect((await greeted('imap')).first).toMatch(/^\* OK /);
    expect((await greeted('imap')).first).toMatch(/^\* BYE \[UNAVAILABLE\] Too many connections, try again later/);
  });
});
