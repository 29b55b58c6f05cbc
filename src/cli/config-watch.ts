import { createHash } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';

export interface WatchTiming {
  /** How often the file's metadata is looked at. */
  pollMs: number;
  /** How long the file must stay unchanged before it counts as changed (editors save in steps). */
  quietMs: number;
}

const DEFAULT_TIMING: WatchTiming = { pollMs: 500, quietMs: 1000 };

/**
 * Calls onChange when the file's content differs from what it was, once it has been quiet for
 * a moment. Polling the path (fs.watchFile) rather than watching the folder sees every way a
 * file is replaced: written in place, an editor's rename over it, a Kubernetes ConfigMap's
 * symlink swap, a network share; one stat per poll costs nothing. Comparing content means a
 * save without changes, or a touch, reloads nothing, and a broken file is reported once.
 */
export function watchConfigFile(path: string, onChange: () => void, timing: WatchTiming = DEFAULT_TIMING): { close(): void } {
  let seen = contentDigest(path);
  let quiet: NodeJS.Timeout | undefined;
  const settle = () => {
    const now = contentDigest(path);
    if (now === seen) return;
    seen = now;
    onChange();
  };
  const listener = () => {
    clearTimeout(quiet);
    quiet = setTimeout(settle, timing.quietMs);
  };
  // Not persistent: watching alone does not keep the process running; the listeners do.
  watchFile(path, { interval: timing.pollMs, persistent: false }, listener);
  return {
    close() {
      unwatchFile(path, listener);
      clearTimeout(quiet);
    },
  };
}

function contentDigest(path: string): string {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch (error) {
    // Gone for a moment (mid-replace) or unreadable: a state of its own, compared like content.
    return `unreadable:${(error as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}
