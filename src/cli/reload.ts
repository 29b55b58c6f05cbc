import { loadConfig } from '../config/load.js';
import { ConfigError } from '../config/validate.js';
import type { RunningProxy } from '../listen/proxy.js';
import type { Logger } from '../ops/log.js';

/**
 * Reads the config file again and applies it; the same for SIGHUP and for a changed file. A
 * broken file is refused and logged with every problem, and the running config stays.
 */
export function reloadFromFile(proxy: Pick<RunningProxy, 'reload'>, configPath: string, log: Logger, trigger: 'SIGHUP' | 'file-change'): boolean {
  try {
    proxy.reload(loadConfig(configPath));
  } catch (error) {
    const problems = error instanceof ConfigError ? error.problems.map((p) => `${p.key}: ${p.problem}`) : [(error as Error).message];
    log.error({ event: 'reload.rejected', trigger, problems }, 'new configuration rejected; keeping the running one');
    return false;
  }
  return true;
}
