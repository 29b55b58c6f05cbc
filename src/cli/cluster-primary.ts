import type { Server } from 'node:http';
import { resolve } from 'node:path';
import type { ProxyConfig } from '../config/types.js';
import { startAdminServer } from '../listen/admin.js';
import { InstanceLimits } from '../listen/cluster/instance-limits.js';
import { primaryView } from '../listen/cluster/primary-view.js';
import { WorkerPool } from '../listen/cluster/worker-pool.js';
import { createLogger, type Logger } from '../ops/log.js';
import { Metrics } from '../ops/metrics.js';
import { watchConfigFile } from './config-watch.js';
import { reloadFromFile } from './reload.js';
import type { StartFlags } from './start-flags.js';
import { STOP_GUARD_MS } from './stop.js';

/**
 * The primary of several workers (config key workers > 1): it runs no listener of its own
 * but the admin one. It forks the workers and replaces one that dies, keeps the counts that
 * hold per instance (instance-limits.ts), and owns the signals: SIGHUP reloads (checked here
 * first, so a broken config reaches no worker), SIGTERM/SIGINT stop every worker the way one
 * process stops, then the primary exits 0.
 */
export async function runPrimary(configPath: string, flags: StartFlags, config: ProxyConfig): Promise<void> {
  // Worker 0 is the primary: every line of the instance names its process the same way.
  const log = createLogger({ level: flags.level ?? config.log.level, format: flags.format ?? config.log.format, base: { worker: 0 } });
  const metrics = new Metrics();
  const limits = new InstanceLimits(config, metrics);
  const pool = new WorkerPool({ size: config.workers, log, handlersFor: (worker) => limits.handlersFor(worker), workerGone: (worker) => limits.workerGone(worker) });
  log.info({ event: 'workers.starting', workers: config.workers }, `starting ${config.workers} workers`);
  await pool.start();
  const admin = config.admin ? await startAdminServer(primaryView(pool, metrics), config.admin, log) : undefined;
  log.info({ event: 'ready', config: resolve(configPath), workers: config.workers }, `o365-mail-proxy is ready (${config.workers} workers)`);
  stopPoolOnSignals(pool, admin, log);
  let running = config;
  const reload = (trigger: 'SIGHUP' | 'file-change') => {
    const applied = reloadFromFile({
      reload(next) {
        if (next.workers !== running.workers) log.warn({ event: 'reload.workers-unchanged', workers: running.workers }, 'a change of workers takes effect after a restart; the other settings are applied');
        running = next;
        limits.reconfigure(next);
      },
    }, configPath, log, trigger);
    // Each worker reads the file again itself: no secret travels between the processes.
    if (applied) pool.broadcast('reload');
  };
  process.on('SIGHUP', () => reload('SIGHUP'));
  if (flags.watchConfig) {
    watchConfigFile(configPath, () => reload('file-change'));
    log.info({ event: 'config.watching', config: resolve(configPath) }, 'reloading when the config file changes');
  }
}

/** SIGTERM/SIGINT: every worker stops as one process would (in-flight SMTP finishes); a second signal ends them at once. */
function stopPoolOnSignals(pool: WorkerPool, admin: Server | undefined, log: Logger): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      pool.kill();
      process.exit(0);
    }
    stopping = true;
    log.info({ event: 'shutdown', signal, workers: pool.ready.length }, 'shutting down');
    setTimeout(() => {
      pool.kill();
      process.exit(0);
    }, STOP_GUARD_MS).unref();
    const adminClosed = new Promise((done) => (admin ? admin.close(done) : done(undefined)));
    Promise.all([pool.stop(), adminClosed]).then(() => {
      log.info({ event: 'stopped' }, 'stopped');
      log.flush();
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
