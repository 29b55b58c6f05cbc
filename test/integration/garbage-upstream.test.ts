import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSelfSignedCertificate } from '../../src/ops/self-signed-certificate.js';
import type { Protocol } from '../../src/config/types.js';
import { mulberry32 } from '../helpers/random.js';
import { leftovers, PASSWORD, startStack, USER, type Stack } from '../helpers/stack.js';
import { WireClient } from '../helpers/wire.js';

/**
 * A broken or hostile mail server upstream: it answers whatever the proxy says with seeded,
 * protocol-flavoured garbage (greetings, capability lines, continuations, tagged answers,
 * base64, 8-bit bytes, long lines), sometimes slowly, sometimes closing midway. Every login
 * must end with an answer in the client's protocol or a clean close, never a crash, never
 * an error-level log line, never a session left behind.
 */
const LINES: Record<Protocol, string[]> = {
  imap: ['* OK ready', '* CAPABILITY IMAP4rev1 AUTH=XOAUTH2 SASL-IR', '+ ', '+ eyJzdGF0dXMiOiI0MDAifQ==', '1 OK done', '1 NO AUTHENTICATE failed.', '2 OK', '2 BAD', '* BYE', '* 3 EXISTS', '1 OK [CAPABILITY IMAP4rev1 X] ok', '* PREAUTH'],
  pop3: ['+OK ready', '+ ', '+ eyJzdGF0dXMiOiI0MDAifQ==', '+OK', '-ERR Authentication failure', '-ERR', '.', '+OK User successfully authenticated'],
  smtp: ['220 ready', '220-multi', '250-smtp.test', '250-STARTTLS', '250-AUTH XOAUTH2', '250 OK', '334 ', '334 eyJzdGF0dXMiOiI0MDAifQ==', '235 2.7.0 ok', '535 5.7.3', '421 bye', '220 go ahead'],
};
const NOISE = ['\r\n', '\n', '\r', '\0', '\xff', 'x'.repeat(70_000), 'é', '*', ' ', '{12}'];

function garbageServer(protocol: Protocol, seed: number, tls: { cert: string; key: string } | undefined): Server {
  const next = mulberry32(seed);
  const respond = (socket: Socket) => {
    let budget = 1 + Math.floor(next() * 12);
    const speak = () => {
      if (socket.destroyed) return;
      if (budget-- <= 0) return next() < 0.5 ? socket.end() : socket.destroy();
      const parts = Array.from({ length: 1 + Math.floor(next() * 4) }, () => (next() < 0.7 ? `${LINES[protocol][Math.floor(next() * LINES[protocol].length)]}\r\n` : NOISE[Math.floor(next() * NOISE.length)]!));
      socket.write(Buffer.from(parts.join(''), 'latin1'));
      setTimeout(speak, Math.floor(next() * 30));
    };
    socket.on('error', () => {});
    socket.on('data', () => {});
    speak();
  };
  return tls ? createTlsServer(tls, respond) : createNetServer(respond);
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

const servers: Server[] = [];
let stack: Stack;
beforeAll(async () => {
  const cert = await generateSelfSignedCertificate(['localhost'], ['127.0.0.1']);
  const tls = { cert: cert.certPem, key: cert.keyPem };
  const upstreams = [garbageServer('imap', 1, tls), garbageServer('pop3', 2, tls), garbageServer('smtp', 3, undefined)];
  servers.push(...upstreams);
  const [imap, pop3, smtp] = await Promise.all(upstreams.map(listen));
  stack = await startStack({
    extraUpstreamCa: cert.certPem,
    config: {
      upstream: { imap: { port: imap }, pop3: { port: pop3 }, smtp: { port: smtp }, loginTimeoutMs: 1500 },
      clients: { maxFailedLogins: 0 },
    },
  });
});
afterAll(async () => {
  await stack?.close();
  for (const server of servers) server.close();
});

const LOGIN: Record<Protocol, { send: string; answer: RegExp }> = {
  imap: { send: `a LOGIN ${USER} {${Buffer.byteLength(PASSWORD)}+}\r\n${PASSWORD}\r\n`, answer: /^a (OK|NO|BAD)/ },
  pop3: { send: `USER ${USER}\r\nPASS ${PASSWORD}\r\n`, answer: /^(\+OK|-ERR)/ },
  smtp: { send: `EHLO test\r\nAUTH PLAIN ${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}\r\n`, answer: /^[2-5]\d\d /u },
};

describe('a garbage-speaking upstream', () => {
  it.each(['imap', 'pop3', 'smtp'] as Protocol[])('%s: every login ends with a protocol answer or a clean close', async (protocol) => {
    const attempts = Array.from({ length: 40 }, async () => {
      const client = await WireClient.open(stack.port(protocol));
      await client.line();
      client.send(LOGIN[protocol].send);
      // POP3 answers USER first, SMTP answers EHLO first: the last line is the login's.
      const lines = await client.until(protocol === 'imap' ? /^a / : protocol === 'pop3' ? /^(\+OK|-ERR)/ : /^(235|[45]\d\d) /, 10_000).catch(() => [] as string[]);
      if (protocol === 'pop3' && lines.length > 0) lines.push(...(await client.until(/^(\+OK|-ERR)/, 10_000).catch(() => [] as string[])));
      client.close();
      return lines.at(-1);
    });
    const answers = await Promise.all(attempts);
    for (const answer of answers) expect(answer === undefined || LOGIN[protocol].answer.test(answer)).toBe(true);
    expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
  }, 60_000);
});
