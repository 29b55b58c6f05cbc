import { StepFailure } from './connection.js';
import { assertSendable, connection, connectSteps, LOGIN_TIMEOUT_MS, tlsStep, TIMEOUT_MS, type ProbeSession, type Step } from './steps.js';

interface Reply {
  code: number;
  lines: string[];
}

/** A whole SMTP reply: "250-..." lines up to the one with a space after the code. */
async function reply(session: ProbeSession, timeoutMs = TIMEOUT_MS): Promise<Reply> {
  const lines: string[] = [];
  for (;;) {
    const line = await connection(session).readLine(timeoutMs);
    lines.push(line);
    const match = /^(\d{3})([ -]?)/.exec(line);
    if (!match) throw new StepFailure(`not an SMTP reply: ${line}`);
    if (match[2] !== '-') return { code: Number(match[1]), lines };
  }
}

async function command(session: ProbeSession, text: string, expected: number, timeoutMs = TIMEOUT_MS): Promise<Reply> {
  connection(session).write(`${text}\r\n`);
  const answer = await reply(session, timeoutMs);
  if (answer.code !== expected) throw new StepFailure(answer.lines.join(' / '));
  return answer;
}

/** EHLO's extensions, e.g. "STARTTLS, AUTH PLAIN LOGIN, SIZE 36700160". */
function extensions(answer: Reply): string {
  return answer.lines.slice(1).map((l) => l.slice(4)).join(', ');
}

export function smtpSteps(session: ProbeSession): Step[] {
  const ehlo: Step = { name: 'EHLO', run: async () => extensions(await command(session, 'EHLO test-login', 250)) };
  return [
    ...connectSteps(session),
    {
      name: 'greeting',
      async run() {
        const answer = await reply(session);
        if (answer.code !== 220) throw new StepFailure(answer.lines.join(' / '));
        return answer.lines.join(' / ');
      },
    },
    ehlo,
    ...(session.listener.tls === 'starttls'
      ? [{ name: 'STARTTLS', run: async () => (await command(session, 'STARTTLS', 220)).lines.join(' / ') }, tlsStep(session, 'TLS'), ehlo]
      : []),
    {
      name: 'login',
      async run() {
        assertSendable(session.password, 'SMTP');
        // AUTH PLAIN: authorization id (empty), username, password, NUL-separated, in UTF-8 (RFC 4616).
        const plain = Buffer.concat([Buffer.from([0]), Buffer.from(session.username, 'utf8'), Buffer.from([0]), session.password]).toString('base64');
        return (await command(session, `AUTH PLAIN ${plain}`, 235, LOGIN_TIMEOUT_MS)).lines.join(' / ');
      },
    },
    { name: 'NOOP', run: async () => (await command(session, 'NOOP', 250)).lines.join(' / ') },
    { name: 'logout', run: async () => (await command(session, 'QUIT', 221)).lines.join(' / ') },
  ];
}
