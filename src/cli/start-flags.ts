import type { LogLevel } from '../config/types.js';

export interface LogFlags {
  level?: LogLevel;
  format?: 'auto' | 'json' | 'pretty';
}

export interface StartFlags extends LogFlags {
  /** Reload when the config file changes (config-watch.ts). */
  watchConfig?: boolean;
}
