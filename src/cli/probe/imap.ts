import { StepFailure } from './connection.js';
import { connection, connectSteps, LOGIN_TIMEOUT_MS, tlsStep, TIMEOUT_MS, type ProbeSession, type Step } from './steps.js';

interface TaggedReply {
  status: string;
  text: string;
  untagged: string[];
}

/** Reads until the tagged reply; the untagged lines before it come along. */
async function tagged(session: ProbeSession, tag: string, timeoutMs = TIMEOUT_MS): Promise<TaggedReply> {
  const untagged: string[] = [];
  for (;;) {
    const line = await connection(session).readLine(timeoutMs);
    if (!line.startsWith(`${tag} `)) {
      untagged.push(line);
      continue;
    }
    const [, status = '', text = ''] = /^\S+ (\S+) ?(.*)$/.exec(line) ?? [];
    return { status: status.toUpperCase(), text, untagged };
  }
}

function expectOk(reply: TaggedReply, tag: string): string {
  if (reply.status !== 'OK') throw new StepFailure(`${tag} ${reply.status} ${reply.text}`);
  // The capability list is long and says nothing to a person checking a login.
  return `OK ${reply.text.replace(/^\[CAPABILITY [^\]]*\] ?/, '')}`;
}

/**
 * An astring for LOGIN: quoted when it is printable ASCII, else a synchronizing literal
 * (RFC 3501 §4.3), which carries any byte, as Java and Python clients send non-ASCII passwords.
 */
function astring(value: Buffer): { inline: string } | { literal: Buffer } {
  const printable = value.every((byte) => byte >= 0x20 && byte < 0x7f);
  return printable ? { inline: `"${value.toString('latin1').replace(/[\\"]/g, '\\$&')}"` } : { literal: value };
}

async function login(session: ProbeSession): Promise<string> {
  const conn = connection(session);
  const user = astring(Buffer.from(session.username, 'utf8'));
  const pass = astring(session.password);
  // Parts before a literal go out with its {n}; the rest waits for the server's "+".
  const parts = [user, pass];
  let line = 'a2 LOGIN';
  for (const part of parts) {
    if ('inline' in part) {
      line += ` ${part.inline}`;
      continue;
    }
    conn.write(`${line} {${part.literal.length}}\r\n`);
    const go = await conn.readLine(TIMEOUT_MS);
    if (!go.startsWith('+')) throw new StepFailure(go);
    conn.write(part.literal);
    line = '';
  }
  conn.write(`${line}\r\n`);
  return expectOk(await tagged(session, 'a2', LOGIN_TIMEOUT_MS), 'a2');
}

export function imapSteps(session: ProbeSession): Step[] {
  return [
    ...connectSteps(session),
    {
      name: 'greeting',
      async run() {
        const greeting = await connection(session).readLine(TIMEOUT_MS);
        if (!greeting.startsWith('* OK')) throw new StepFailure(greeting);
        return greeting;
      },
    },
    ...(session.listener.tls === 'starttls'
      ? [
          {
            name: 'STARTTLS',
            async run() {
              connection(session).write('a1 STARTTLS\r\n');
              return expectOk(await tagged(session, 'a1'), 'a1');
            },
          },
          tlsStep(session, 'TLS'),
        ]
      : []),
    { name: 'login', run: () => login(session) },
    {
      name: 'SELECT INBOX',
      async run() {
        connection(session).write('a3 SELECT INBOX\r\n');
        const reply = await tagged(session, 'a3');
        expectOk(reply, 'a3');
        const exists = reply.untagged.map((l) => /^\* (\d+) EXISTS/i.exec(l)?.[1]).find(Boolean);
        return `INBOX holds ${exists ?? '?'} messages`;
      },
    },
    {
      name: 'logout',
      async run() {
        connection(session).write('a4 LOGOUT\r\n');
        return expectOk(await tagged(session, 'a4'), 'a4');
      },
    },
  ];
}
