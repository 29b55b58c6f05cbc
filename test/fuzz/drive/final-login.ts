import { WireClient } from '../../helpers/wire.js';
import type { Credentials, Protocol } from '../generate/script.js';
import type { ProxyUnderTest } from './proxy.js';

/**
 * After the run, an ordinary client still logs in, on every protocol, from an address the
 * fuzzer never used (127.0.0.1): the fuzzing did not break the proxy for the others.
 * Returns a problem per protocol that failed.
 */
export async function ordinaryLogins(proxy: ProxyUnderTest, creds: Credentials, protocols: readonly Protocol[]): Promise<string[]> {
  const problems: string[] = [];
  for (const protocol of protocols) {
    let client: WireClient | undefined;
    try {
      client = await WireClient.open(proxy.port(protocol, 'none'), { localAddress: '127.0.0.1' });
      const answer = await LOGIN[protocol](client, creds);
      if (!answer.ok) problems.push(`${protocol}: an ordinary login after the run was refused: ${answer.line}`);
    } catch (error) {
      problems.push(`${protocol}: an ordinary login after the run failed: ${(error as Error).message}`);
    } finally {
      client?.close();
    }
  }
  return problems;
}

/**
 * After the run, the proxy greets as many clients at once as clients.maxConnections allows:
 * every connection the fuzzer made has been counted out again.
 */
export async function fullCapacity(proxy: ProxyUnderTest, maxConnections: number): Promise<string[]> {
  const greetings = await Promise.all(Array.from({ length: maxConnections }, async () => {
    const client = await WireClient.open(proxy.port('imap', 'none'), { localAddress: '127.0.0.1' }).catch(() => undefined);
    const line = await client?.line().catch((error: Error) => `(none: ${error.message.slice(0, 60)})`);
    return { client, line: line ?? '(could not connect)' };
  }));
  for (const { client } of greetings) client?.close();
  const refused = greetings.filter((g) => !g.line.startsWith('* OK'));
  return refused.length === 0 ? [] : [`after the run, ${refused.length} of ${maxConnections} connections at once (clients.maxConnections) were not greeted, e.g. ${JSON.stringify(refused[0]!.line)}: connections that ended are still counted`];
}

type Login = (client: WireClient, creds: Credentials) => Promise<{ ok: boolean; line: string }>;

const quoted = (text: string) => `"${text.replace(/[\\"]/g, '\\$&')}"`;

const LOGIN: Record<Protocol, Login> = {
  async imap(client, { user, password }) {
    await client.line();
    client.send(`z1 LOGIN ${quoted(user)} ${quoted(password)}\r\n`);
    const line = (await client.until(/^z1 /)).pop()!;
    client.send('z2 LOGOUT\r\n');
    return { ok: line.startsWith('z1 OK'), line };
  },
  async pop3(client, { user, password }) {
    await client.line();
    client.send(`USER ${user}\r\n`);
    await client.line();
    client.send(`PASS ${password}\r\n`);
    const line = await client.line();
    client.send('QUIT\r\n');
    return { ok: line.startsWith('+OK'), line };
  },
  async smtp(client, { user, password }) {
    await client.until(/^220 /);
    client.send('EHLO ordinary.example\r\n');
    await client.until(/^250 /);
    client.send(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}\r\n`);
    const line = (await client.until(/^\d{3} /)).pop()!;
    client.send('QUIT\r\n');
    return { ok: line.startsWith('235'), line };
  },
};
