import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
/** The built proxy, started as a user would start it. */
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/**
 * Open files each bench process asks for: 9,900 idle sessions are 9,900 client sockets and
 * 9,900 upstream sockets in the proxy. Raised by bash's `ulimit -n` before node starts (up to
 * the hard limit, if that is lower); what the proxy got, it logs (RunningProxyProcess.openFiles).
 */
const OPEN_FILES = 65_536;

/** Runs node with `args` under the raised open-files limit: [command, arguments]. */
function node(args: string[]): [string, string[]] {
  const raise = `ulimit -n ${OPEN_FILES} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`;
  return ['bash', ['-c', raise, process.execPath, ...args]];
}

/** The fast upstream in a process of its own; resolves with its ports. */
export function startUpstream(certFile: string, keyFile: string, messageBytes: number): Promise<{ child: ChildProcess; ports: { imap: number; pop3: number; smtp: number } }> {
  const child = spawn(...node([join(HERE, 'fast-upstream.js'), certFile, keyFile, String(messageBytes)]), { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (line: Buffer) => resolve({ child, ports: JSON.parse(line.toString()) }));
    child.once('exit', (code) => reject(new Error(`fast upstream exited (${code})`)));
  });
}

export interface RunningProxyProcess {
  child: ChildProcess;
  /** Listening ports by "protocol/tls", e.g. "imap/none". */
  ports: Map<string, number>;
  /** Its open-files limit, and the sessions that limit allows (its `open-files` log line). */
  openFiles: { limit: number; sessions: number };
}

/** SIGTERM, and wait for the proxy to exit (it writes its CPU profile then, if asked to). */
export async function stopProxyProcess(proxy: RunningProxyProcess): Promise<void> {
  if (proxy.child.exitCode !== null || proxy.child.signalCode !== null) return;
  const stopped = new Promise((resolve) => proxy.child.once('exit', resolve));
  proxy.child.kill('SIGTERM');
  await stopped;
}

/**
 * `node dist/cli.js start`, its JSON log in `logFile`; resolves once it logged "ready".
 * `profileDir`: write a V8 CPU profile of the proxy there when it stops (for `--cpu-prof`).
 */
export async function startProxyProcess(configFile: string, logFile: string, profileDir?: string): Promise<RunningProxyProcess> {
  const log = openSync(logFile, 'w');
  // Sampled every 250 µs, not every 1 ms: a login or a round trip through the proxy takes less.
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=250'] : [];
  const child = spawn(...node([...profile, CLI, 'start', '--config', configFile, '--log-format', 'json']), { stdio: ['ignore', log, log] });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const entries = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
    if (entries.some((e) => e.event === 'ready')) {
      const openFiles = entries.find((e) => e.event === 'open-files');
      return {
        child,
        ports: new Map(entries.filter((e) => e.event === 'listening').map((e) => [`${e.proto}/${e.tls}`, e.port as number])),
        openFiles: { limit: openFiles?.limit ?? NaN, sessions: openFiles?.sessions ?? NaN },
      };
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the proxy did not start:\n${readFileSync(logFile, 'utf8')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs one measuring client process; its JSON answer. */
export function runClient<T>(request: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(...node([join(HERE, 'client.js'), JSON.stringify(request)]), { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`bench client failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as T);
    });
  });
}

/**
 * Starts a client that keeps sessions open (the `hold` task): resolves with its first answer
 * once they are up; `release()` lets it close them and waits for it to exit.
 */
export function holdClient<T>(request: unknown): Promise<{ result: T; release: () => Promise<void> }> {
  const child = spawn(...node([join(HERE, 'client.js'), JSON.stringify(request)]), { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (line: Buffer) => resolve({
      result: JSON.parse(line.toString()) as T,
      release: () => {
        child.stdin!.end();
        return exited;
      },
    }));
    void exited.then(() => reject(new Error('the holding client exited before its sessions were up')));
  });
}

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a process has used so far (Linux /proc). */
export function cpuSeconds(pid: number): number {
  // The fields after the command name, which is in parentheses and may hold spaces.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** A process's resident memory now and at its peak, in bytes (Linux /proc). */
export function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}
