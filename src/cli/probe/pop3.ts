import { StepFailure } from './connection.js';
import { assertSendable, connection, connectSteps, LOGIN_TIMEOUT_MS, tlsStep, TIMEOUT_MS, type ProbeSession, type Step } from './steps.js';

/** One POP3 reply line; "-ERR ..." fails the step with the server's words. */
async function expectOk(session: ProbeSession, timeoutMs = TIMEOUT_MS): Promise<string> {
  const line = await connection(session).readLine(timeoutMs);
  if (!line.startsWith('+OK')) throw new StepFailure(line);
  return line;
}

async function send(session: ProbeSession, command: string | Buffer, timeoutMs = TIMEOUT_MS): Promise<string> {
  connection(session).write(command);
  return expectOk(session, timeoutMs);
}

export function pop3Steps(session: ProbeSession): Step[] {
  return [
    ...connectSteps(session),
    { name: 'greeting', run: () => expectOk(session) },
    ...(session.listener.tls === 'starttls' ? [{ name: 'STLS', run: () => send(session, 'STLS\r\n') }, tlsStep(session, 'TLS')] : []),
    {
      name: 'login',
      async run() {
        assertSendable(session.password, 'POP3');
        await send(session, `USER ${session.username}\r\n`);
        return send(session, Buffer.concat([Buffer.from('PASS '), session.password, Buffer.from('\r\n')]), LOGIN_TIMEOUT_MS);
      },
    },
    {
      name: 'STAT',
      async run() {
        const [, count, size] = /^\+OK (\d+) (\d+)/.exec(await send(session, 'STAT\r\n')) ?? [];
        return count === undefined ? 'OK' : `${count} messages, ${size} bytes`;
      },
    },
    { name: 'logout', run: () => send(session, 'QUIT\r\n') },
  ];
}
