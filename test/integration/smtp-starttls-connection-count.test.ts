import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { WireClient } from '../helpers/wire.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * Found by the fuzzer: smtp-server's STARTTLS removes every listener from the TCP socket, the
 * accept path's close listener among them, so each SMTP session that used STARTTLS kept its
 * place under clients.maxConnections (and maxConnectionsPerAddress) after it closed. After
 * 4,000 of them (1,000 from one host) every new connection on every listener heard "try later".
 */
describe('SMTP sessions that used STARTTLS', () => {
  it('give their place under clients.maxConnections back when they close', async () => {
    stack = await startStack({ config: { clients: { maxConnections: 2 } } });
    for (let session = 0; session < 3; session++) {
      const client = await WireClient.open(stack.port('smtp', 'starttls'));
      expect(await client.line(), `session ${session}`).toMatch(/^220 /);
      client.send('EHLO client.example\r\n');
      await client.until(/^250 /);
      client.send('STARTTLS\r\n');
      expect(await client.line()).toMatch(/^220 /);
      await client.startTls(stack.localCa);
      client.send('QUIT\r\n');
      expect(await client.line()).toMatch(/^221 /);
      await client.ended();
      client.close();
      await until(() => stack!.proxy.openConnections() === 0);
    }
    expect(stack.proxy.openConnections()).toBe(0);
    const next = await WireClient.open(stack.port('imap'));
    expect(await next.line()).toMatch(/^\* OK /);
    next.close();
  });
});
