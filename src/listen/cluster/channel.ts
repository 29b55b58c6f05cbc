/**
 * Small request/reply messages between a primary and one worker over node:cluster's IPC
 * channel. Each side may ask (a request carries an id, the reply names it) or just tell (a
 * note, no reply). Messages carry counters, ids, addresses and usernames, never a password,
 * token or secret: the workers read those from the config file themselves.
 */

/** One end of the IPC channel: `process` in a worker, a `cluster.Worker` in the primary. */
export interface Endpoint {
  send(message: unknown): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/** What one side answers to a request (or does with a note), by operation name. */
export type Handlers = Record<string, (body: Record<string, unknown>) => unknown>;

interface Envelope {
  /** Marks the proxy's own messages (prom-client and cluster send theirs on the same channel). */
  o365p: 'request' | 'reply' | 'note';
  op?: string;
  id?: number;
  body?: Record<string, unknown>;
  result?: unknown;
  error?: string;
}

/** The channel is gone (the other side exited): every open request fails with this. */
export class ChannelClosed extends Error {
  override readonly name = 'ChannelClosed';
}

export class Channel {
  readonly #endpoint: Endpoint;
  readonly #handlers: Handlers;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  #nextId = 1;
  #closed = false;

  constructor(endpoint: Endpoint, handlers: Handlers) {
    this.#endpoint = endpoint;
    this.#handlers = handlers;
    endpoint.on('message', this.#receive);
  }

  /** Asks the other side; resolves with its answer, rejects when it failed or the channel closed. */
  request<T = unknown>(op: string, body: Record<string, unknown> = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new ChannelClosed(`cannot ask "${op}": the channel is closed`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#send({ o365p: 'request', op, id, body });
    });
  }

  /** Tells the other side something that needs no answer. */
  note(op: string, body: Record<string, unknown> = {}): void {
    if (!this.#closed) this.#send({ o365p: 'note', op, body });
  }

  /** The other side is gone: fails what waits for it, and stops listening. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#endpoint.off('message', this.#receive);
    for (const { reject } of this.#pending.values()) reject(new ChannelClosed('the other process is gone'));
    this.#pending.clear();
  }

  #send(envelope: Envelope): void {
    try {
      this.#endpoint.send(envelope);
    } catch {
      // The channel closed under us (the other process just exited): its exit handling follows.
      this.close();
    }
  }

  readonly #receive = (message: unknown): void => {
    if (!isEnvelope(message)) return;
    if (message.o365p === 'reply') return this.#settle(message);
    const handler = message.op === undefined ? undefined : this.#handlers[message.op];
    if (message.o365p === 'note') return void handler?.(message.body ?? {});
    if (!handler) return this.#send({ o365p: 'reply', id: message.id, error: `unknown request "${message.op}"` });
    Promise.resolve()
      .then(() => handler(message.body ?? {}))
      .then(
        (result) => this.#send({ o365p: 'reply', id: message.id, result }),
        (error: Error) => this.#send({ o365p: 'reply', id: message.id, error: error.message }),
      );
  };

  #settle(message: Envelope): void {
    const waiting = message.id === undefined ? undefined : this.#pending.get(message.id);
    if (!waiting) return;
    this.#pending.delete(message.id!);
    if (message.error !== undefined) waiting.reject(new Error(message.error));
    else waiting.resolve(message.result);
  }
}

function isEnvelope(message: unknown): message is Envelope {
  return typeof message === 'object' && message !== null && typeof (message as Envelope).o365p === 'string';
}
