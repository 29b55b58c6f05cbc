import * as imap from './imap.js';
import * as pop3 from './pop3.js';
import * as smtp from './smtp.js';
import type { Made } from './imap.js';
import { Rng } from './rng.js';
import type { Credentials, Ending, Input, ListenerKind, Protocol, Script } from './script.js';

export interface GenerateOptions {
  seed: number;
  creds: Credentials;
  /** Every n-th connection carries one heavy attack (megabytes of input); 0: none. */
  heavyEvery: number;
}

/** One protocol's grammar, as the script builder needs it. */
interface Grammar {
  regular(lockstep: boolean): Made;
  /** A login that should succeed (TLS first where the listener asks for it). */
  success(): Input[];
  goodbye(): Input;
  attacks: Record<string, () => Input[]>;
}

function grammar(protocol: Protocol, rng: Rng, creds: Credentials, listener: ListenerKind, index: number): Grammar {
  const tlsWeight = (lockstep: boolean) => (listener === 'starttls' && lockstep ? 8 : 2);
  const bind = <G>(g: G, table: Record<string, (g: G) => Input[]>) => Object.fromEntries(Object.entries(table).map(([name, make]) => [name, () => make(g)]));
  if (protocol === 'imap') {
    const g: imap.ImapGen = { rng, creds, listener, nextTag: 1 };
    return {
      regular: (lockstep) => rng.weighted<() => Made>([[30, () => imap.simple(g)], [18, () => imap.login(g)], [14, () => imap.authenticate(g)], [tlsWeight(lockstep), () => imap.startTls(g, lockstep)], [4, () => imap.burst(g)], [6, () => imap.literalChain(g)], [10, () => imap.junk(g)]])(),
      success: () => [...(listener === 'starttls' ? [imap.startTls(g, true).input] : []), (rng.chance(0.6) ? imap.login(g, true) : imap.authenticate(g, true)).input],
      goodbye: () => imap.logout(g),
      attacks: bind(g, imap.IMAP_ATTACKS),
    };
  }
  if (protocol === 'pop3') {
    const g: pop3.Pop3Gen = { rng, creds, listener };
    return {
      regular: (lockstep) => rng.weighted<() => Made>([[30, () => pop3.simple(g)], [20, () => pop3.userPass(g)], [16, () => pop3.auth(g)], [tlsWeight(lockstep), () => pop3.stls(g, lockstep)], [4, () => pop3.burst(g)], [10, () => pop3.junk(g)]])(),
      success: () => [...(listener === 'starttls' ? [pop3.stls(g, true).input] : []), (rng.chance(0.6) ? pop3.userPass(g, true) : pop3.auth(g, true)).input],
      goodbye: () => pop3.quit(),
      attacks: bind(g, pop3.POP3_ATTACKS),
    };
  }
  const g: smtp.SmtpGen = { rng, creds, listener, label: `smtp-${index}`, messages: 0 };
  return {
    regular: (lockstep) => rng.weighted<() => Made>([[20, () => smtp.hello(g)], [25, () => smtp.simple(g)], [16, () => smtp.auth(g)], [tlsWeight(lockstep), () => smtp.startTls(g, lockstep)], [4, () => smtp.burst(g)], [10, () => smtp.junk(g)]])(),
    success: () => [
      ...(listener === 'starttls' ? [smtp.startTls(g, true).input] : []),
      smtp.hello(g).input,
      smtp.auth(g, true).input,
      ...Array.from({ length: rng.int(1, 3) }, () => smtp.transaction(g)).flat(),
    ],
    goodbye: () => smtp.quit(),
    attacks: bind(g, smtp.SMTP_ATTACKS),
  };
}

/** The attack scheduled for this connection: every `heavyEvery`-th one, cycling through them all. */
export function attackFor(protocol: Protocol, index: number, heavyEvery: number): string | undefined {
  if (heavyEvery <= 0 || index % heavyEvery !== heavyEvery - 1) return undefined;
  const names = [...Object.keys(ATTACK_NAMES[protocol]), 'linger'];
  return names[Math.floor(index / heavyEvery) % names.length];
}

const ATTACK_NAMES: Record<Protocol, object> = { imap: imap.IMAP_ATTACKS, pop3: pop3.POP3_ATTACKS, smtp: smtp.SMTP_ATTACKS };

/** Connection `index` of a run: a pure function of the seed, the protocol and the index. */
export function generateScript(protocol: Protocol, index: number, options: GenerateOptions): Script {
  const rng = Rng.for(options.seed, protocol, index);
  const attack = attackFor(protocol, index, options.heavyEvery);
  if (attack) return attackScript(protocol, index, rng, options.creds, attack);

  const listener = rng.weighted<ListenerKind>([[70, 'none'], [24, 'starttls'], [6, 'implicit']]);
  const wantLogin = rng.chance(protocol === 'smtp' ? 0.03 : 0.02);
  // A connection meant to log in goes in lockstep: its login must be read as one.
  const lockstep = wantLogin || rng.chance(0.35);
  const g = grammar(protocol, rng, options.creds, listener, index);
  let made = Array.from({ length: rng.skewed(1, 24) }, () => g.regular(lockstep));
  // A connection meant to log in keeps its stream in step, so the login is read as one.
  if (wantLogin) made = made.filter((m) => m.inStep);
  const inStep = made.every((m) => m.inStep);
  // Lockstep waits for each answer, until an input leaves the stream out of step: after it,
  // an answer may be owed to nobody (the proxy is still reading a literal, say).
  const firstOff = made.findIndex((m) => !m.inStep);
  const inputs = made.map((m, i) => (lockstep ? { ...m.input, await: firstOff === -1 || i < firstOff } : m.input));
  if (wantLogin) inputs.push(...g.success().map((input) => ({ ...input, await: true, right: true })));
  const ending: Ending = wantLogin ? 'goodbye' : inStep
    ? rng.weighted<Ending>([[35, 'goodbye'], [35, 'end'], [15, 'destroy'], [5, 'unread']])
    : rng.weighted<Ending>([[60, 'end'], [30, 'destroy'], [10, 'unread']]);
  if (ending === 'goodbye') inputs.push(g.goodbye());
  return { protocol, index, listener, waitGreeting: rng.chance(protocol === 'smtp' ? 0.95 : 0.6), split: rng.chance(0.3), inputs, ending };
}

function attackScript(protocol: Protocol, index: number, rng: Rng, creds: Credentials, attack: string): Script {
  const g = grammar(protocol, rng, creds, 'none', index);
  const base = { protocol, index, listener: 'none' as const, waitGreeting: true, split: false, attack };
  // Issue 7 #2: after the goodbye the client ignores the FIN and keeps sending.
  if (attack === 'linger') return { ...base, inputs: [g.goodbye()], ending: 'linger', lingerBytes: rng.int(4, 16) * 1024 * 1024 };
  return { ...base, inputs: g.attacks[attack]!(), ending: attack === 'unread-answers' ? 'unread' : 'end' };
}
