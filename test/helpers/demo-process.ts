import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** The well-known ports the demo adds its base to (143 → 1143 by default). */
const WELL_KNOWN = [25, 110, 143, 465, 587, 993, 995];

export interface RunningDemo {
  child: ChildProcess;
  /** Where the demo's plain IMAP listener is. */
  imapPort: number;
  output(): string;
  /** Ctrl-C; resolves to the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `<command...> demo` (an installed o365-mail-proxy, a single executable) and waits for
 * its settings. A demo that can move its ports (--port-base) gets a free block, so a demo the
 * developer left running does not fail the tests; one that cannot uses its fixed ports.
 */
export async function startDemo(command: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<RunningDemo> {
  const [program, ...args] = command as [string, ...string[]];
  const movable = spawnSync(program, [...args, 'demo', '--help'], { env, encoding: 'utf8' }).stdout.includes('--port-base');
  const base = movable ? await freePortBase() : 1000;
  const child = spawn(program, [...args, 'demo', '--log-format', 'json', ...(movable ? ['--port-base', String(base)] : [])], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 30_000;
  while (!output.includes('Stop with Ctrl-C') && child.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!output.includes('Stop with Ctrl-C')) {
    child.kill('SIGKILL');
    throw new Error(`the demo did not start:\n${output}`);
  }
  return {
    child,
    imapPort: base + 143,
    output: () => output,
    stop: () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

async function freePortBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10_000 + 1000 * Math.floor(Math.random() * 20);
    const free = await Promise.all(WELL_KNOWN.map((port) => canBind(base + port)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no free block of ports for the demo');
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
