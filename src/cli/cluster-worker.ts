import cluster from 'node:cluster';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../ops/log.js';
import { keepTokensWarm } from '../auth/token-warmup.js';
import { tokenReadiness } from '../listen/admin.js';
import { Channel } from '../listen/cluster/channel.js';
import { remoteLimits, WorkerAdmission } from '../listen/cluster/remote-limits.js';
import { startProxy, type RunningProxy } from '../listen/proxy.js';
import type { StartFlags } from './start-flags.js';
import { stopOnSignals } from './stop.js';
import { reloadFromFile } from './reload.js';

/**
 * One worker of several (config key workers): the whole proxy, as one process runs it, with
 * its own token cache and open-files budget, asking the primary for the counts that hold per
 * instance. It reads the config file itself (no secret crosses the IPC channel), reloads when
 * the primary says so, and stops when told, on SIGTERM/SIGINT, or when the primary is gone.
 */
export async function runWorker(configPath: string, flags: StartFlags): Promise<void> {
  const config = loadConfig(configPath);
  const log = createLogger({ level: flags.level ?? config.log.level, format: flags.format ?? config.log.format, base: { worker: cluster.worker!.id } });
  let proxy: RunningProxy | undefined;
  let stop: ((reason: string) => void) | undefined;
  const channel = new Channel(process as unknown as ConstructorParameters<typeof Channel>[0], {
    metrics: () => proxy?.metrics.snapshot() ?? [],
    readiness: () => (proxy ? tokenReadiness(proxy.context()) : { ready: false, apps: {} }),
    reload: () => proxy && reload(proxy),
    // Still starting: no session to wait for.
    shutdown: () => (stop ? stop('primary') : process.exit(0)),
  });
  // The primary is gone (killed): nothing would count connections or lockouts any more. Stop
  // the way SIGTERM stops, not node:cluster's way (an immediate exit, which would cut an SMTP
  // message whose final dot Exchange has and make the client send it again).
  process.removeAllListeners('disconnect');
  process.on('disconnect', () => {
    channel.close();
    log.error({ event: 'worker.orphaned' }, 'the primary process is gone; this worker stops');
    if (stop) stop('primary-gone');
    else process.exit(1);
  });
  // The primary coordinates reloads; a SIGHUP sent to the whole process group must not end a worker.
  process.on('SIGHUP', () => {});
  proxy = await startProxy(config, log, undefined, { limits: await remoteLimits(channel), admission: (limits) => new WorkerAdmission(limits, channel) });
  let tokens = keepTokensWarm(proxy.context(), log);
  stop = stopOnSignals(proxy, log, async () => tokens.stop());
  const reload = (running: RunningProxy) => {
    if (!reloadFromFile(running, configPath, log, 'SIGHUP')) return;
    tokens.stop();
    tokens = keepTokensWarm(running.context(), log);
  };
  channel.note('ready', { listeners: proxy.listeners.map(({ protocol, host, port }) => ({ protocol, host, port })) });
}
