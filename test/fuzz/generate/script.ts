import type { Piece } from './pieces.js';

export type Protocol = 'imap' | 'pop3' | 'smtp';
export const PROTOCOLS: readonly Protocol[] = ['imap', 'pop3', 'smtp'];
export type ListenerKind = 'none' | 'starttls' | 'implicit';

/**
 * How a connection ends after its inputs:
 * - end:     half-close right after the last input (end()); the proxy answers what it got and closes
 * - goodbye: the last input is LOGOUT/QUIT; the proxy answers it and closes
 * - linger:  goodbye, then keeps sending `lingerBytes` and ignores the proxy's FIN; the proxy must
 *            still cut the connection
 * - destroy: the client vanishes (no FIN handshake), possibly in the middle of a command
 * - unread:  the client never reads a byte of the answers; after sending it waits, then vanishes
 */
export type Ending = 'end' | 'goodbye' | 'linger' | 'destroy' | 'unread';

/** One fuzz input: a command, a SASL exchange, a literal chain, a burst of pipelined commands. */
export interface Input extends Piece {
  /** Lockstep: wait for an answer before sending the next input. */
  await?: boolean;
  /** STARTTLS/STLS: when the awaited answer matches, the client does the TLS handshake. */
  tlsIf?: RegExp;
  /** Carries the right credentials: only such an input may log in. */
  right?: boolean;
  /** SMTP DATA content (with its end-of-data line): if the proxy answers 250, the message it
   * encodes (RFC 5321 4.5.2, see oracle/messages.ts) must reach the mailbox, once. */
  data?: boolean;
}

export interface Script {
  protocol: Protocol;
  /** Position in the run; with the seed, all that is needed to build this script again. */
  index: number;
  listener: ListenerKind;
  /** A polite client reads the greeting before it talks; an early talker does not. */
  waitGreeting: boolean;
  /** Cut each input into random pieces written one event-loop turn apart. */
  split: boolean;
  inputs: Input[];
  ending: Ending;
  /** linger: how many bytes to send after the goodbye. */
  lingerBytes?: number;
  /** The scheduled heavy attack this connection carries, if any (for the summary). */
  attack?: string;
}

/** The credentials that work, and the ones that must never reach a log. */
export interface Credentials {
  user: string;
  password: string;
  /** The account's mailbox (SMTP sender) and a second mailbox that fuzz messages go to. */
  mailbox: string;
  recipient: string;
}

/** Readable form of a whole script, one input per line: how a failure is printed. */
export function describeScript(script: Script, seed: number): string {
  const head = `seed ${seed} ${script.protocol} #${script.index}: listener=${script.listener} ${script.waitGreeting ? 'polite' : 'early-talker'}${script.split ? ' split-writes' : ''}${script.attack ? ` attack=${script.attack}` : ''}`;
  const inputs = script.inputs.map((input, i) => `  ${String(i).padStart(3)} ${input.await ? 'C/await' : 'C'}: ${clip(input.show())}`);
  const tail = `  end: ${script.ending}${script.lingerBytes ? ` (+${script.lingerBytes} bytes after the goodbye)` : ''}`;
  return [head, ...inputs, tail].join('\n');
}

function clip(show: string, max = 400): string {
  return show.length <= max ? show : `${show.slice(0, max)}… (${show.length} chars)`;
}
