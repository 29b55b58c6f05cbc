import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
/** The built proxy, started as a user would start it. */
export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** The fast upstream in a process of its own; resolves with its ports. */
export function startUpstream(certFile: string, keyFile: string, messageBytes: number): Promise<{ child: ChildProcess; ports: { imap: number; pop3: number; smtp: number } }> {
  const child = spawn(process.execPath, [join(HERE, 'fast-upstream.js'), certFile, keyFile, String(messageBytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (line: Buffer) => resolve({ child, ports: JSON.parse(line.toString()) }));
    child.once('exit', (code) => reject(new Error(`fast upstream exited (${code})`)));
  });
}

export interface RunningProxyProcess {
  child: ChildProcess;
  /** Listening ports by "protocol/tls", e.g. "imap/none". */
  ports: Map<string, number>;
}

/**
 * `node dist/cli.js start`, its JSON log in `logFile`; resolves once it logged "ready".
 * `profileDir`: write a V8 CPU profile of the proxy there when it stops (for `--cpu-prof`).
 */
export async function startProxyProcess(configFile: string, logFile: string, profileDir?: string): Promise<RunningProxyProcess> {
  const log = openSync(logFile, 'w');
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...profile, CLI, 'start', '--config', configFile, '--log-format', 'json'], { stdio: ['ignore', log, log] });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const entries = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
    if (entries.some((e) => e.event === 'ready')) {
      return { child, ports: new Map(entries.filter((e) => e.event === 'listening').map((e) => [`${e.proto}/${e.tls}`, e.port as number])) };
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the proxy did not start:\n${readFileSync(logFile, 'utf8')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs one measuring client process; its JSON answer. */
export function runClient<T>(request: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(HERE, 'client.js'), JSON.stringify(request)], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`bench client failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as T);
    });
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
