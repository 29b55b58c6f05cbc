import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { splice, type Linger, type PipeTotals } from '../../src/fronts/pipe.js';

/**
 * splice() joins the proxy's two sockets after login. Each is one end of a real loopback
 * connection whose other end plays the mail client or the upstream server:
 *
 *   client ⇄ [proxy's client socket] ═splice═ [proxy's upstream socket] ⇄ upstream
 */

const sockets: Socket[] = [];
// The 10 s close grace runs on a fake clock: a socket that closes only because the grace ran
// out does not close at all here, and its test fails (at the 5 s timeout below).
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
  for (const socket of sockets.splice(0)) socket.destroy();
});

/** A connected pair on 127.0.0.1: [the far end, the proxy's end (paused, as after a login)]. */
async function pair(far: { allowHalfOpen?: boolean } = {}): Promise<[Socket, Socket]> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const farEnd = connect({ port, host: '127.0.0.1', allowHalfOpen: far.allowHalfOpen ?? false });
  const [[proxyEnd]] = await Promise.all([once(server, 'connection') as Promise<[Socket]>, once(farEnd, 'connect')]);
  server.close();
  sockets.push(farEnd, proxyEnd);
  farEnd.on('error', () => {});
  return [farEnd, proxyEnd];
}

/** What a far end receives, and how its connection ended. */
function record(socket: Socket) {
  const seen = { text: '', ended: false, errored: false };
  socket.on('data', (chunk: Buffer) => (seen.text += chunk.toString('latin1')));
  socket.on('end', () => (seen.ended = true));
  socket.on('error', () => (seen.errored = true));
  return seen;
}

/** Resolves on the socket's 'close', however it closed (events.once would reject on its 'error'). */
const closing = (socket: Socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()));

interface Spliced {
  client: Socket;
  upstream: Socket;
  proxyClient: Socket;
  proxyUpstream: Socket;
  atClient: ReturnType<typeof record>;
  atUpstream: ReturnType<typeof record>;
  totals: PipeTotals[];
  closed: Record<'client' | 'upstream' | 'proxyClient' | 'proxyUpstream', Promise<void>>;
  /** Every socket, both far ends and both of the proxy's, closed. */
  allClosed(): Promise<unknown>;
}

async function spliced(options: { upstreamHalfOpen?: boolean; before?: (s: { client: Socket; upstream: Socket; proxyClient: Socket; proxyUpstream: Socket }) => Promise<void>; pending?: { toUpstream: string; toClient: string }; linger?: Linger } = {}): Promise<Spliced> {
  const [client, proxyClient] = await pair();
  const [upstream, proxyUpstream] = await pair({ allowHalfOpen: options.upstreamHalfOpen ?? false });
  const atClient = record(client);
  const atUpstream = record(upstream);
  await options.before?.({ client, upstream, proxyClient, proxyUpstream });
  const closed = { client: closing(client), upstream: closing(upstream), proxyClient: closing(proxyClient), proxyUpstream: closing(proxyUpstream) };
  const totals: PipeTotals[] = [];
  const pending = options.pending ?? { toUpstream: '', toClient: '' };
  splice(proxyClient, proxyUpstream, { toUpstream: Buffer.from(pending.toUpstream), toClient: Buffer.from(pending.toClient) }, (t) => totals.push(t), options.linger);
  return { client, upstream, proxyClient, proxyUpstream, atClient, atUpstream, totals, closed, allClosed: () => Promise.all(Object.values(closed)) };
}

describe('splice', { timeout: 5_000 }, () => {
  it('delivers the login dialogue\'s leftovers and what each side had buffered first, then relays both ways', async () => {
    const s = await spliced({
      pending: { toUpstream: '[pending up]', toClient: '[pending down]' },
      // Sent while the proxy was logging in: waiting, unread, in the proxy's sockets.
      before: async ({ client, upstream, proxyClient, proxyUpstream }) => {
        proxyClient.write('a OK LOGIN completed\r\n'); // the login's own answer: not relayed, not counted
        client.write('[client early]');
        upstream.write('[upstream early]');
        await vi.waitFor(() => expect(proxyClient.readableLength + proxyUpstream.readableLength).toBe(30));
      },
    });
    s.client.write('[client late]');
    s.upstream.write('[upstream late]');
    await vi.waitFor(() => {
      expect(s.atUpstream.text).toBe('[pending up][client early][client late]');
      expect(s.atClient.text).toBe('a OK LOGIN completed\r\n[pending down][upstream early][upstream late]');
    });
    s.client.end();
    await s.allClosed();
    // Bytes relayed from the splice on, each way.
    expect(s.totals).toEqual([{ up: 39, down: 45 }]);
  });

  it('writes a lone command on at once, and holds the chunks of a bulk transfer for one write at the end of the turn', async () => {
    const s = await spliced();
    // Listeners added after splice() run after its own: they see what it did with each chunk.
    const corkedAfter = (socket: Socket, into: Socket) => new Promise<number>((resolve) => socket.once('data', () => resolve(into.writableCorked)));
    const command = corkedAfter(s.proxyClient, s.proxyUpstream);
    s.client.write('n1 NOOP\r\n');
    expect(await command).toBe(0);
    await vi.waitFor(() => expect(s.atUpstream.text).toBe('n1 NOOP\r\n'));
    const bulk = corkedAfter(s.proxyUpstream, s.proxyClient);
    s.upstream.write(Buffer.alloc(64 * 1024, 'x'));
    expect(await bulk).toBe(1);
    await vi.waitFor(() => expect(s.atClient.text).toHaveLength(64 * 1024));
    s.client.end();
    await s.allClosed();
  });

  it('passes a client\'s clean end on as an end, after its last bytes, and the upstream\'s last answer back', async () => {
    const s = await spliced();
    s.client.end('a LOGOUT\r\n');
    await once(s.upstream, 'end');
    expect(s.atUpstream.text).toBe('a LOGOUT\r\n');
    await s.allClosed();
    expect(s.atUpstream).toMatchObject({ ended: true, errored: false });
    expect(s.atClient).toMatchObject({ ended: true, errored: false });
    expect(s.totals).toHaveLength(1);
  });

  it('closes both when the client leaves cleanly in the middle of a big answer', async () => {
    // Found by the garbage-upstream test: the upstream socket, unpiped and paused once the
    // client was gone, never read the server's own close.
    const s = await spliced();
    // As Exchange does: a 4 MiB FETCH answer; BYE and its own close on LOGOUT.
    s.upstream.on('data', (chunk: Buffer) => {
      if (chunk.includes('LOGOUT')) s.upstream.end('* BYE\r\nd OK LOGOUT completed.\r\n');
      else s.upstream.write(Buffer.alloc(4 * 1024 * 1024, 'x'));
    });
    s.client.write('c FETCH 1 BODY[]\r\n');
    await once(s.client, 'data');
    s.client.end('d LOGOUT\r\n');
    await s.allClosed();
    expect(s.totals).toHaveLength(1);
  });

  it('passes an upstream\'s clean end on as an end, after its last bytes', async () => {
    const s = await spliced();
    s.upstream.end('* BYE Session invalidated - AccessTokenExpired\r\n');
    await s.allClosed();
    expect(s.atClient).toMatchObject({ text: '* BYE Session invalidated - AccessTokenExpired\r\n', ended: true, errored: false });
    expect(s.totals).toEqual([{ up: 0, down: 48 }]);
  });

  it('closes the upstream when the client resets its connection', async () => {
    const s = await spliced();
    s.client.write('a NOOP\r\n');
    await once(s.upstream, 'data');
    s.client.resetAndDestroy();
    await s.allClosed();
    expect(s.totals).toEqual([{ up: 8, down: 0 }]);
  });

  it('closes the client when the upstream resets its connection', async () => {
    const s = await spliced();
    s.upstream.resetAndDestroy();
    await s.allClosed();
    expect(s.atClient.ended || s.client.destroyed).toBe(true);
    expect(s.totals).toHaveLength(1);
  });

  it('closes the client when the proxy\'s upstream socket fails', async () => {
    const s = await spliced();
    s.proxyUpstream.destroy(new Error('TLS alert'));
    await s.allClosed();
    expect(s.totals).toHaveLength(1);
  });

  it('closes the upstream when the proxy\'s client socket is destroyed (shutdown, idle cut)', async () => {
    const s = await spliced();
    s.proxyClient.destroy();
    await s.allClosed();
    expect(s.totals).toHaveLength(1);
  });

  it('cuts an upstream that keeps its side open after the client ended, 10 s later', async () => {
    const s = await spliced({ upstreamHalfOpen: true });
    s.client.end();
    await Promise.all([once(s.upstream, 'end'), s.closed.proxyClient]);
    vi.advanceTimersByTime(9_999);
    expect(s.proxyUpstream.destroyed).toBe(false);
    vi.advanceTimersByTime(1);
    expect(s.proxyUpstream.destroyed).toBe(true);
    // The proxy holds nothing any more (the far end may keep its half as long as it likes).
    await Promise.all([s.closed.proxyUpstream, s.closed.client]);
    expect(s.totals).toHaveLength(1);
  });

  it('holds a descriptor from the reserve while an upstream outlives its client, and gives it back when it closes', async () => {
    let taken = 0;
    let givenBack = 0;
    const s = await spliced({ upstreamHalfOpen: true, linger: () => (taken++, () => givenBack++) });
    s.client.end();
    await Promise.all([once(s.upstream, 'end'), s.closed.proxyClient]);
    expect([taken, givenBack]).toEqual([1, 0]);
    s.upstream.end();
    await s.closed.proxyUpstream;
    expect([taken, givenBack]).toEqual([1, 1]);
  });

  it('cuts an upstream that outlives its client at once, its last bytes written, when the reserve is spent', async () => {
    const s = await spliced({ upstreamHalfOpen: true, linger: () => undefined });
    s.client.write('a LOGOUT\r\n');
    s.client.end();
    // No timer runs: the upstream's socket closes without the 10 s grace.
    await Promise.all([once(s.upstream, 'end'), s.closed.proxyUpstream, s.closed.proxyClient]);
    expect(s.atUpstream.text).toBe('a LOGOUT\r\n');
    expect(s.totals).toHaveLength(1);
  });
});
