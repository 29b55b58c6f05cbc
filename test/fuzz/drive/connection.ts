import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Rng } from '../generate/rng.js';
import type { Input, ListenerKind, Script } from '../generate/script.js';
import { answersOwed, isAnswerEnd, type Phase } from '../oracle/replies.js';
import { decodeData, type DataVerdict } from '../oracle/messages.js';

export interface Timeouts {
  /** Each awaited answer (and the greeting) must come within this. */
  answerMs: number;
  /** After the client's last word (half-close, goodbye), the proxy must close within this. */
  closeMs: number;
  /** A client that never reads waits this long after sending, then vanishes. */
  unreadHoldMs: number;
}

export interface Target {
  port(listener: ListenerKind): number;
  /** Source address (127.0.0.x): the fuzzer is many client machines. */
  localAddress: string;
  timeouts: Timeouts;
}

/** What one connection saw: the oracles judge it. */
export interface Outcome {
  phases: Phase[];
  /** The proxy closed with a FIN and the client read everything up to it. */
  readToClose: boolean;
  /** Time bounds missed, as sentences. */
  problems: string[];
  inputsSent: number;
  data: DataVerdict[];
}

/** FUZZ_DEBUG=1: print each connection's exchange (for replaying one with --only). */
const DEBUG = process.env.FUZZ_DEBUG === '1';

/** Keeps what the proxy sent, up to this much per connection (bursts are answered at length). */
const KEEP_BYTES = 4 * 1024 * 1024;

/**
 * Runs one script against the proxy: connects (TLS first on implicit listeners), sends each
 * input (in random pieces when the script says so), waits for answers where it asks, does
 * the TLS handshake after an accepted STARTTLS, and ends the way the script ends.
 */
export async function runConnection(script: Script, target: Target, rng: Rng): Promise<Outcome> {
  const talk = new Talk(script, target, rng);
  try {
    await talk.run();
  } catch (error) {
    talk.problems.push(`driver: ${(error as Error).message}`);
  } finally {
    talk.close();
  }
  return talk.outcome();
}

class Talk {
  readonly problems: string[] = [];
  readonly #phases: { tls: boolean; sent: Buffer[]; received: Buffer[]; kept: number }[] = [];
  readonly #data: DataVerdict[] = [];
  #socket!: Socket;
  /** Lines that end an answer, in this phase (STARTTLS starts a new one). */
  #answers: string[] = [];
  /** Answers owed for what was sent in this phase (see answersOwed). */
  #owed = 0;
  /** The last awaited answer was 354: the next DATA content input is a message. */
  #dataOpen = false;
  #lineText = '';
  #lines = 0;
  #closed = false;
  #ended = false;
  #errored = false;
  #sent = 0;
  #waiters: (() => void)[] = [];

  constructor(readonly script: Script, readonly target: Target, readonly rng: Rng) {}

  async run(): Promise<void> {
    const { script } = this;
    const { answerMs } = this.target.timeouts;
    if (!(await this.#connect())) return;
    const reading = script.ending !== 'unread';
    if (!reading) this.#socket.pause();
    if (script.waitGreeting && reading && !(await this.#until(() => this.#lines > 0, answerMs))) {
      return void this.problems.push(`no greeting within ${answerMs} ms`);
    }
    for (const [i, input] of script.inputs.entries()) {
      if (this.#closed || this.#ended) break;
      // Counted before sending: the answer may come while the last piece is still being written.
      const before = this.#answers.length;
      const owedBefore = this.#owed;
      // STARTTLS goes in one write, with what is pipelined behind it: a piece that came after
      // the proxy switched to TLS would be the client's own garbage in the handshake.
      await this.#send(input.bytes, script.split && !input.tlsIf);
      this.#sent++;
      // DATA content is one message only after a 354; after a refused DATA it is lines of commands.
      const message = input.data && this.#dataOpen;
      this.#owed += message ? 1 : answersOwed(script.protocol, input.bytes) ?? 1;
      if (!input.await || !reading) continue;
      const answer = await this.#answer({ ...input, data: message }, before, owedBefore);
      if (answer === false) return void this.problems.push(`no answer within ${answerMs} ms to input #${i}`);
      this.#dataOpen = answer !== undefined && /^354/.test(answer);
      if (message) this.#verdict(input, answer, i);
      if (input.tlsIf && answer !== undefined && input.tlsIf.test(answer) && !(await this.#startTls())) return;
    }
    await this.#end();
  }

  /**
   * Waits for what an input is owed: IMAP, one answer (STARTTLS: the one with its tag); POP3
   * and SMTP, one per line sent so far (STARTTLS: the answer to its own line, since what was
   * pipelined behind it must go unanswered; DATA content: one). Returns the answer that
   * decides (STARTTLS, DATA), undefined if the proxy closed first, false on a timeout.
   */
  async #answer(input: Input, before: number, owedBefore: number): Promise<string | undefined | false> {
    const { protocol } = this.script;
    const imap = protocol === 'imap';
    const tag = imap && input.tlsIf ? /^(\S+) /.exec(input.bytes.toString('latin1'))?.[1] : undefined;
    const mine = (line: string) => line.startsWith(`${tag} `);
    const target = imap || input.data ? before + 1 : input.tlsIf ? owedBefore + 1 : this.#owed;
    const done = () => this.#closed || this.#ended || (tag ? this.#answers.slice(before).some(mine) : this.#answers.length >= target);
    if (!(await this.#until(done, this.target.timeouts.answerMs))) return false;
    if (tag) return this.#answers.slice(before).find(mine);
    return this.#answers[imap || input.data ? before : owedBefore];
  }

  /** An SMTP message sent, and what the proxy answered to its end (for the delivery oracle). */
  #verdict(input: Input, answer: string | undefined, i: number): void {
    const verdict = answer === undefined ? 'unknown' : /^2/.test(answer) ? 'accepted' : 'refused';
    const origin = `${this.script.protocol} #${this.script.index} input #${i} (client port ${this.#socket.localPort})`;
    this.#data.push({ message: decodeData(input.bytes), verdict, origin });
  }

  /** Ends the connection as the script says, checking the proxy closes in time where it must. */
  async #end(): Promise<void> {
    const { closeMs, unreadHoldMs } = this.target.timeouts;
    switch (this.script.ending) {
      case 'end': {
        let finished = false;
        this.#socket.end(() => (finished = true));
        if (!(await this.#until(() => finished || this.#closed, closeMs))) return void this.problems.push(`the proxy neither read the client's input nor closed within ${closeMs} ms`);
        if (!(await this.#until(() => this.#closed, closeMs))) this.problems.push(`not closed ${closeMs} ms after the client's half-close`);
        return;
      }
      case 'goodbye':
        if (!(await this.#until(() => this.#ended || this.#closed, closeMs))) this.problems.push(`not closed ${closeMs} ms after the goodbye`);
        return;
      case 'linger':
        return this.#linger(closeMs);
      case 'destroy':
        return this.#pause(this.rng.int(0, 20));
      case 'unread':
        return this.#pause(unreadHoldMs);
    }
  }

  /**
   * After the goodbye, ignores the FIN and keeps sending: a burst, then a line now and then
   * (only a write tells a client that the other side is gone for good: it gets a reset).
   */
  async #linger(closeMs: number): Promise<void> {
    const junk = Buffer.alloc(this.script.lingerBytes ?? 0, 'x\r\n'.repeat(341));
    for (let at = 0; at < junk.length && !this.#closed; at += 65536) this.#socket.write(junk.subarray(at, at + 65536));
    const deadline = Date.now() + closeMs;
    while (!this.#closed && Date.now() < deadline) {
      if (this.#socket.writableLength < 65536) this.#socket.write('x\r\n'.repeat(64));
      await this.#until(() => this.#closed, 200);
    }
    if (!this.#closed) this.problems.push(`still open ${closeMs} ms after the goodbye while the client kept sending (${junk.length} bytes, then more)`);
  }

  async #connect(): Promise<boolean> {
    const { script, target } = this;
    const options = { host: '127.0.0.1', port: target.port(script.listener), localAddress: target.localAddress, allowHalfOpen: script.ending === 'linger' };
    const implicit = script.listener === 'implicit';
    const socket = implicit ? tlsConnect({ ...options, rejectUnauthorized: false, servername: 'localhost' }) : connect(options);
    this.#attach(socket, implicit);
    let connected = false;
    socket.once(implicit ? 'secureConnect' : 'connect', () => this.#wake((connected = true)));
    const { answerMs } = this.target.timeouts;
    if (!(await this.#until(() => connected || this.#closed, answerMs))) this.problems.push(`could not connect${implicit ? ' (TLS)' : ''} within ${answerMs} ms`);
    else if (!connected) this.problems.push(`could not connect${implicit ? ' (TLS)' : ''}`);
    else socket.setNoDelay(true);
    return connected;
  }

  /** Client side of STARTTLS: the handshake on the same connection, then a new phase. */
  async #startTls(): Promise<boolean> {
    const raw = this.#socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('end');
    raw.removeAllListeners('close');
    const secure = tlsConnect({ socket: raw, rejectUnauthorized: false, servername: 'localhost' });
    this.#attach(secure, true);
    let secured = false;
    secure.once('secureConnect', () => this.#wake((secured = true)));
    const { answerMs } = this.target.timeouts;
    const done = await this.#until(() => secured || this.#closed, answerMs);
    if (!secured && !this.#ended) this.problems.push(done ? 'TLS handshake after an accepted STARTTLS failed' : `TLS handshake after an accepted STARTTLS not done within ${answerMs} ms`);
    return secured;
  }

  #attach(socket: Socket, tls: boolean): void {
    this.#socket = socket;
    this.#phases.push({ tls, sent: [], received: [], kept: 0 });
    this.#answers = [];
    this.#owed = 0;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#wake((this.#ended = true)));
    socket.on('close', () => this.#wake((this.#closed = true)));
    socket.on('error', () => (this.#errored = true));
  }

  #onData(chunk: Buffer): void {
    const phase = this.#phases[this.#phases.length - 1]!;
    if (phase.kept < KEEP_BYTES) {
      phase.received.push(chunk);
      phase.kept += chunk.length;
    }
    this.#lineText = (this.#lineText + chunk.toString('latin1')).slice(-65536);
    const lines = this.#lineText.split('\r\n');
    this.#lineText = lines.pop()!;
    for (const line of lines) {
      if (DEBUG) process.stderr.write(`  S: ${JSON.stringify(line.slice(0, 120))}\n`);
      // The greeting answers nothing, even when an early talker's first command crossed it.
      const greeting = this.#lines++ === 0 && this.#phases.length === 1;
      if (!greeting && isAnswerEnd(this.script.protocol, line)) this.#answers.push(line);
    }
    this.#wake();
  }

  /** Writes an input, in random pieces one event-loop turn apart when `split`. */
  async #send(bytes: Buffer, split: boolean): Promise<void> {
    if (DEBUG) process.stderr.write(`  C: ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}\n`);
    this.#phases[this.#phases.length - 1]!.sent.push(bytes);
    if (!split || bytes.length > 256 * 1024) return void this.#socket.write(bytes);
    for (let at = 0; at < bytes.length && !this.#closed; ) {
      const size = this.rng.skewed(1, 512);
      this.#socket.write(bytes.subarray(at, at + size));
      at += size;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  #until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== check);
        resolve(false);
      }, timeoutMs);
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== check);
        resolve(true);
      };
      this.#waiters.push(check);
    });
  }

  #wake(_?: unknown): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  close(): void {
    this.#socket?.destroy();
  }

  outcome(): Outcome {
    const phases = this.#phases.map((p) => ({ tls: p.tls, sent: Buffer.concat(p.sent), received: Buffer.concat(p.received) }));
    const kept = this.#phases.every((p) => p.kept < KEEP_BYTES);
    const readToClose = this.#ended && !this.#errored && kept && this.script.ending !== 'unread';
    return { phases, readToClose, problems: this.problems, inputsSent: this.#sent, data: this.#data };
  }
}
