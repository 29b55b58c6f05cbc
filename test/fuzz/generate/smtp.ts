import { junkLine, loginPair, maybeNoisy, plainMessage, saslResponse } from './common.js';
import type { Made } from './imap.js';
import { cat, line, raw, repeat, run, text, utf8, type Piece } from './pieces.js';
import type { Rng } from './rng.js';
import type { Credentials, Input, ListenerKind } from './script.js';

/**
 * SMTP submission (RFC 5321, RFC 4954 AUTH, RFC 3207 STARTTLS, RFC 3030 BDAT) as a grammar
 * with mutations: before AUTH everything but EHLO, AUTH and STARTTLS must be refused; after
 * it, DATA content with every end-of-data look-alike must arrive as exactly one message.
 */
export interface SmtpGen {
  rng: Rng;
  creds: Credentials;
  listener: ListenerKind;
  /** Numbers the messages of a connection, so a delivered one can be traced to its script. */
  label: string;
  messages: number;
}

export function hello(g: SmtpGen): Made {
  const { rng } = g;
  const domain = rng.weighted<() => Piece>([
    [20, () => text('client.example')],
    [3, () => text('[127.0.0.1]')],
    [3, () => text('')],
    [2, () => run('h', rng.skewed(256, 4000))],
    [2, () => text('bad domain with spaces')],
    [2, () => utf8('dömain.example')],
    [1, () => raw(rng.bytes(rng.int(1, 10)))],
  ])();
  return { input: line(text(rng.weighted([[10, 'EHLO '], [3, 'HELO '], [1, 'ehlo '], [1, 'LHLO ']])), domain), inStep: true };
}

export function auth(g: SmtpGen, right = false): Made {
  const { rng } = g;
  const { user, pass } = loginPair(rng, g.creds, right);
  const mechanism = right ? rng.pick(['PLAIN', 'LOGIN']) : rng.weighted([[10, 'PLAIN'], [8, 'LOGIN'], [2, ''], [2, 'XOAUTH2'], [1, 'CRAM-MD5'], [1, 'plain']]);
  const respond = (payload: Buffer) => (right ? text(payload.toString('base64')) : saslResponse(rng, payload));
  const lines: Piece[] = [];
  if (mechanism.toUpperCase() === 'PLAIN') {
    const message = right ? Buffer.concat([Buffer.from([0]), user, Buffer.from([0]), pass]) : plainMessage(rng, user, pass);
    const response = respond(message);
    if (response.bytes.length > 0 && rng.chance(0.5)) lines.push(line(text(`AUTH ${mechanism} `), response));
    else lines.push(line(text(`AUTH ${mechanism}`)), line(response));
  } else if (mechanism === 'LOGIN') {
    const response = respond(user);
    if (response.bytes.length > 0 && rng.chance(0.3)) lines.push(line(text('AUTH LOGIN '), response));
    else lines.push(line(text('AUTH LOGIN')), line(response));
    lines.push(line(respond(pass)));
  } else {
    lines.push(line(text(mechanism ? `AUTH ${mechanism}` : 'AUTH')));
    if (mechanism) lines.push(line(respond(user)));
  }
  const abandon = !right && lines.length > 1 && rng.chance(0.05);
  return { input: { ...cat(...(abandon ? lines.slice(0, -1) : lines)), await: right }, inStep: !abandon };
}

export function startTls(g: SmtpGen, lockstep: boolean): Made {
  // CVE-2011-0411: a command pipelined behind STARTTLS must not be answered inside TLS.
  const bytes = g.rng.chance(0.4) ? cat(line(text('STARTTLS')), line(text('HELP'))) : line(text('STARTTLS'));
  return { input: { ...bytes, await: lockstep, ...(lockstep ? { tlsIf: /^220[ -]/ } : {}) }, inStep: lockstep || g.listener !== 'starttls' };
}

/** Envelope and data commands before AUTH (all refused), and the harmless ones. */
export function simple(g: SmtpGen): Made {
  const { rng } = g;
  const command = rng.weighted<() => Piece>([
    [6, () => text(rng.pick(['MAIL FROM:<a@b.example>', 'MAIL FROM:<> SIZE=1000 BODY=8BITMIME', 'MAIL FROM:<a@b.example> SMTPUTF8', 'MAIL FROM:a@b', 'MAIL FROM:<', 'MAIL TO:<a@b>']))],
    [5, () => text(rng.pick(['RCPT TO:<ap@contoso.test>', 'RCPT TO:<a@b> NOTIFY=NEVER', 'RCPT TO:']))],
    [3, () => cat(line(text('DATA')), text('Subject: x\r\n\r\nhi\n.\nMAIL FROM:<evil@x>\r\n.'))],
    [3, () => cat(line(text(rng.pick(['BDAT 5 LAST', 'BDAT 5', 'BDAT 0 LAST', 'BDAT 99999999999']))), text('hello'))],
    [6, () => text(rng.pick(['RSET', 'NOOP', 'VRFY talend', 'EXPN list', 'HELP', 'NOOP x']))],
    [3, () => text(rng.pick(['FOO', 'EHL', 'MAIL', 'AUTH PLAIN AGFiYwBk extra', 'STARTTLS x', 'TURN', 'ETRN x']))],
  ])();
  const tls = g.listener === 'starttls' && command.bytes.toString('latin1').startsWith('STARTTLS');
  return { input: line(maybeNoisy(rng, command)), inStep: !tls };
}

export function burst(g: SmtpGen): Made {
  const count = g.rng.skewed(5, 300);
  return { input: cat(...Array.from({ length: count }, () => line(text(g.rng.weighted([[8, 'NOOP'], [3, 'RSET'], [2, 'EHLO client.example']]))))), inStep: true };
}

export function junk(g: SmtpGen): Made {
  return { input: junkLine(g.rng), inStep: true };
}

export function quit(): Input {
  return { ...line(text('QUIT')), await: true };
}

/** After a successful AUTH: one mail transaction, lockstep, its content full of dot traps. */
export function transaction(g: SmtpGen): Input[] {
  const { rng, creds } = g;
  const from = rng.chance(0.9) ? creds.mailbox : 'someone-else@contoso.test';
  return [
    { ...line(text(`MAIL FROM:<${from}>${rng.pick(['', '', ' BODY=8BITMIME', ' SIZE=100'])}`)), await: true },
    { ...line(text(`RCPT TO:<${creds.recipient}>`)), await: true },
    { ...line(text('DATA')), await: true },
    { ...content(g), await: true, data: true },
  ];
}

/** Traps for the end of data: look-alikes of CRLF "." CRLF that are not it, and dot-stuffing. */
const TRAPS = ['\n.\n', '\n.\r\n', '\r\n.\n', '\r.\r\n', '\r.\n', '.', '..', '...', '.\r', '\n..\n', 'a\n..b', '\r\n..\r\n', '\0', 'é', '\r', '\n', 'MAIL FROM:<evil@contoso.test>', 'RCPT TO:<ap@contoso.test>', 'DATA', 'QUIT'];

function content(g: SmtpGen): Piece {
  const { rng } = g;
  if (rng.chance(0.03)) return text('.\r\n'); // the empty message
  const lines = [`X-Fuzz: ${g.label}-${g.messages++}`, 'Subject: fuzz', ''];
  const count = rng.skewed(0, 30);
  for (let i = 0; i < count; i++) {
    lines.push(rng.weighted<() => string>([
      [6, () => 'plain text line'],
      [8, () => rng.pick(TRAPS)],
      [4, () => `${rng.pick(TRAPS)}${rng.pick(TRAPS)}${rng.pick(TRAPS)}`],
      [1, () => 'y'.repeat(rng.skewed(100, 5000))],
    ])());
  }
  // Now and then the content ends in a look-alike of the end of data, right before the real one.
  const body = lines.join('\r\n') + (rng.chance(0.1) ? '\n.\r\n' : '');
  return text(oneMessage(body));
}

/**
 * The body as DATA content: a line that is a lone "." (a real end of data, which would make the
 * rest commands) is stuffed, and the end-of-data line follows, after a CRLF if the body has none.
 */
function oneMessage(body: string): string {
  const stuffed = body.split('\r\n').map((line) => (line === '.' ? '..' : line)).join('\r\n');
  return stuffed + (stuffed.endsWith('\r\n') ? '.\r\n' : '\r\n.\r\n');
}

export const SMTP_ATTACKS: Record<string, (g: SmtpGen) => Input[]> = {
  'unread-answers': (g) => [{ ...repeat(text('NOOP\r\n'), g.rng.int(400_000, 1_000_000)) }],
  'long-line': (g) => [{ ...run('x', g.rng.int(1, 16) * 1024 * 1024) }],
  'data-flood': (g) => [{ ...cat(line(text('DATA')), repeat(text('x'.repeat(998) + '\r\n'), g.rng.int(4_000, 16_000))) }],
};
