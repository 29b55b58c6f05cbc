import { junkLine, loginPair, maybeNoisy, plainMessage, saslResponse } from './common.js';
import type { Made } from './imap.js';
import { cat, line, raw, repeat, run, text, type Piece } from './pieces.js';
import type { Rng } from './rng.js';
import type { Credentials, Input, ListenerKind } from './script.js';

/**
 * POP3 before login (RFC 1939 AUTHORIZATION state, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034
 * AUTH) as a grammar with mutations.
 */
export interface Pop3Gen {
  rng: Rng;
  creds: Credentials;
  listener: ListenerKind;
}

const verb = (rng: Rng, name: string) => text(rng.chance(0.1) ? name.toLowerCase() : name);

/** USER then PASS (or one of them alone, or the other way round). */
export function userPass(g: Pop3Gen, right = false): Made {
  const { rng } = g;
  const { user, pass } = loginPair(rng, g.creds, right);
  const userLine = line(verb(rng, 'USER'), text(' '), raw(user));
  const passLine = line(verb(rng, 'PASS'), text(rng.chance(0.05) && !right ? '  ' : ' '), raw(pass));
  const shape = right ? 0 : rng.weighted([[20, 0], [2, 1], [2, 2], [1, 3]]);
  const lines = [[userLine, passLine], [passLine], [userLine], [passLine, userLine]][shape]!;
  return { input: { ...cat(...lines), await: right }, inStep: true };
}

/** AUTH PLAIN/LOGIN with or without an initial response; AUTH alone lists mechanisms. */
export function auth(g: Pop3Gen, right = false): Made {
  const { rng } = g;
  const { user, pass } = loginPair(rng, g.creds, right);
  const mechanism = right ? rng.pick(['PLAIN', 'LOGIN']) : rng.weighted([[10, 'PLAIN'], [8, 'LOGIN'], [3, ''], [2, 'XOAUTH2'], [1, 'plain'], [1, 'PLAIN x y']]);
  const respond = (payload: Buffer) => (right ? text(payload.toString('base64')) : saslResponse(rng, payload));
  const command = mechanism ? `AUTH ${mechanism}` : 'AUTH';
  const lines: Piece[] = [];
  if (mechanism.toUpperCase() === 'PLAIN') {
    const message = right ? Buffer.concat([Buffer.from([0]), user, Buffer.from([0]), pass]) : plainMessage(rng, user, pass);
    const response = respond(message);
    if (response.bytes.length > 0 && rng.chance(0.5)) lines.push(line(text(`${command} `), response));
    else lines.push(line(text(command)), line(response));
  } else if (mechanism === 'LOGIN') {
    const response = respond(user);
    if (response.bytes.length > 0 && rng.chance(0.3)) lines.push(line(text('AUTH LOGIN '), response));
    else lines.push(line(text('AUTH LOGIN')), line(response));
    lines.push(line(respond(pass)));
  } else {
    lines.push(line(text(command)));
    if (mechanism) lines.push(line(respond(user)));
  }
  const abandon = !right && lines.length > 1 && rng.chance(0.05);
  return { input: { ...cat(...(abandon ? lines.slice(0, -1) : lines)), await: right }, inStep: !abandon };
}

export function stls(g: Pop3Gen, lockstep: boolean): Made {
  const injected = g.rng.chance(0.4) ? line(text('CAPA')) : undefined;
  const bytes = injected ? cat(line(text('STLS')), injected) : line(text('STLS'));
  return { input: { ...bytes, await: lockstep, ...(lockstep ? { tlsIf: /^\+OK/ } : {}) }, inStep: lockstep || g.listener !== 'starttls' };
}

export function simple(g: Pop3Gen): Made {
  const { rng } = g;
  const command = rng.weighted<() => Piece>([
    [10, () => text('CAPA')],
    [4, () => text(rng.pick(['NOOP', 'STAT', 'LIST', 'RETR 1', 'DELE 1', 'UIDL', 'TOP 1 0', 'RSET']))],
    [2, () => text('APOP talend c4c9334bac560ecc979e58001b3e22fb')],
    [3, () => text(rng.pick(['FOO', 'capa', 'CAPA extra', 'US', 'USERX talend', 'QUITT', 'XTND XMIT']))],
  ])();
  return { input: line(maybeNoisy(rng, command)), inStep: true };
}

export function burst(g: Pop3Gen): Made {
  const count = g.rng.skewed(5, 400);
  return { input: cat(...Array.from({ length: count }, () => line(text(g.rng.weighted([[8, 'CAPA'], [3, 'USER talend'], [1, 'AUTH']]))))), inStep: true };
}

export function junk(g: Pop3Gen): Made {
  return { input: junkLine(g.rng), inStep: true };
}

export function quit(): Input {
  return { ...line(text('QUIT')), await: true };
}

export const POP3_ATTACKS: Record<string, (g: Pop3Gen) => Input[]> = {
  'unread-answers': (g) => [{ ...repeat(text('CAPA\r\n'), g.rng.int(400_000, 1_000_000)) }],
  'long-line': (g) => [{ ...run('x', g.rng.int(1, 16) * 1024 * 1024) }],
};
