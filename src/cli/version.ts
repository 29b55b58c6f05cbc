import { readFileSync } from 'node:fs';

/** Set by the single-executable build (scripts/build-sea.mjs), which has no package.json beside it. */
declare const O365P_BUNDLED_VERSION: string | undefined;

export function version(): string {
  if (typeof O365P_BUNDLED_VERSION === 'string') return O365P_BUNDLED_VERSION;
  // dist/cli/version.js (and src/cli/version.ts) sit two folders below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
