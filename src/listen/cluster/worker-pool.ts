import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { Channel, type Handlers } from './channel.js';

/** Restart delays after a worker died: doubling from the first, up to the last. */
const FIRST_RESTART_MS = 1000;
const LAST_RESTART_MS = 30_000;
/** A worker that ran this long counts as healthy: the next death restarts it at once-ish again. */
const HEALTHY_AFTER_MS = 60_000;

/** A worker's listener, as it reported it bound (the ports are shared by all workers). */
export interface WorkerListener {
  protocol: string;
  host: string;
  port: number;
}

export interface PoolOptions {
  size: number;
  log: Logger;
  /** What a new worker may ask of the primary (key: its cluster id as text). */
  handlersFor(worker: string): Handlers;
  /** A worker exited, however: what it held must be given back. */
  workerGone(worker: string): void;
}

interface Member {
  worker: Worker;
  channel: Channel;
  ready: boolean;
  startedAt: number;
}

/**
 * The primary's workers (node:cluster): forks them, waits for them to bind their listeners,
 * restarts one that dies unexpectedly (after a growing delay, logged), and stops them all.
 * Each worker runs the whole proxy; the listening sockets are shared through the primary.
 */
export class WorkerPool {
  readonly #options: PoolOptions;
  readonly #members = new Map<string, Member>();
  #stopping = false;
  /** Set once every first worker is up: from then on a dead worker is replaced. */
  #running = false;
  #failures = 0;

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  /** Workers that have bound their listeners and not exited. */
  get ready(): Channel[] {
    return [...this.#members.values()].filter((m) => m.ready).map((m) => m.channel);
  }

  get size(): number {
    return this.#options.size;
  }

  /** Forks every worker; resolves once all have bound, with their listeners. A worker failing first fails it. */
  async start(): Promise<WorkerListener[]> {
    const started = Array.from({ length: this.#options.size }, () => this.#fork());
    try {
      const listeners = await Promise.all(started);
      this.#running = true;
      return listeners[0]!;
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Tells every worker something (reload, shutdown). */
  broadcast(op: string): void {
    for (const member of this.#members.values()) member.channel.note(op);
  }

  /** Graceful: each worker closes as one process would; resolves when all have exited. */
  async stop(): Promise<void> {
    this.#stopping = true;
    const exits = [...this.#members.values()].map((m) => new Promise((resolve) => (m.worker.isDead() ? resolve(undefined) : m.worker.once('exit', resolve))));
    this.broadcast('shutdown');
    await Promise.all(exits);
  }

  /** At once (a second Ctrl-C, or the stop guard). */
  kill(): void {
    this.#stopping = true;
    for (const member of this.#members.values()) member.worker.process.kill('SIGKILL');
  }

  #fork(): Promise<WorkerListener[]> {
    const worker = cluster.fork();
    const key = String(worker.id);
    return new Promise((resolve, reject) => {
      const channel = new Channel(worker, {
        ...this.#options.handlersFor(key),
        ready: ({ listeners }) => {
          member.ready = true;
          this.#options.log.info({ event: 'worker.ready', workerId: worker.id, workerPid: worker.process.pid }, `worker ${worker.id} is ready`);
          resolve(listeners as WorkerListener[]);
        },
      });
      const member: Member = { worker, channel, ready: false, startedAt: Date.now() };
      this.#members.set(key, member);
      worker.once('exit', (code, signal) => {
        this.#members.delete(key);
        member.channel.close();
        this.#options.workerGone(key);
        if (!member.ready) reject(new Error(`worker ${worker.id} exited before its listeners were up (${signal ?? `code ${code}`}); see its log lines above`));
        if (this.#running && !this.#stopping) this.#restart(member, code, signal);
      });
    });
  }

  /** A worker died while the proxy runs: another takes its place after a delay that grows with repeated deaths. */
  #restart(member: Member, code: number | null, signal: string | null): void {
    if (Date.now() - member.startedAt > HEALTHY_AFTER_MS) this.#failures = 0;
    const delayMs = Math.min(LAST_RESTART_MS, FIRST_RESTART_MS * 2 ** this.#failures);
    this.#failures++;
    this.#options.log.error({ event: 'worker.exit', workerId: member.worker.id, workerPid: member.worker.process.pid, code, signal, restartInMs: delayMs }, `worker ${member.worker.id} died (${signal ?? `code ${code}`}); its connections are gone and their places given back; starting another in ${delayMs} ms`);
    setTimeout(() => {
      if (this.#stopping) return;
      this.#fork().catch((error: Error) => this.#options.log.error({ event: 'worker.failed', cause: error.message }, 'a replacement worker failed to start'));
    }, delayMs);
  }
}
