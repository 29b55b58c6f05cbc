import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Secret } from './secret.js';
import type { TokenStoreConfig } from './types.js';
import { asObject, type Validator } from './validator.js';

const KEY_FIX = 'make one with "openssl rand -base64 32", keep it outside the config file and refer to it as "${env:NAME}" or "${file:path}"';

/**
 * The token store's folder and optional key. The key must be a reference: a key written into
 * the config file would sit next to anything that can read the config.
 */
export function checkTokenStore(v: Validator, value: unknown, baseDir: string): TokenStoreConfig {
  const raw = asObject(value) ?? {};
  const dir = typeof raw.dir === 'string' ? v.text(raw.dir, 'tokenStore.dir') : undefined;
  const store: TokenStoreConfig = { dir: dir === undefined ? defaultTokenStoreDir() : resolve(baseDir, dir) };
  if (typeof raw.key !== 'string') return store;
  if (!raw.key.trim().startsWith('${')) {
    v.problem('tokenStore.key', 'is written into the config file itself', KEY_FIX);
    return store;
  }
  const text = v.text(raw.key, 'tokenStore.key');
  if (text === undefined) return store;
  const key = decodeKey(text.trim());
  if (!key) {
    v.problem('tokenStore.key', 'is not 32 bytes in base64 or hex', KEY_FIX);
    return store;
  }
  return { ...store, key: new Secret(key.toString('base64')) };
}

/** Only the folder, for commands that must work without the service's secrets (`accounts`). */
export function tokenStoreDirOf(value: unknown, baseDir: string): string {
  const dir = asObject(value)?.dir;
  return typeof dir === 'string' && dir.trim() !== '' && !dir.startsWith('${') ? resolve(baseDir, dir) : defaultTokenStoreDir();
}

/** 32 bytes from base64 (44 characters) or hex (64). */
export function decodeKey(text: string): Buffer | undefined {
  if (/^[0-9a-f]{64}$/i.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(text) || /^[A-Za-z0-9_-]{43}=?$/.test(text)) {
    const bytes = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return bytes.length === 32 ? bytes : undefined;
  }
  return undefined;
}

/**
 * A per-user state folder, as the platform names it: XDG's state home on Linux and the like,
 * %LOCALAPPDATA% on Windows (not roaming: a sign-in belongs to this machine).
 */
export function defaultTokenStoreDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  if (platform === 'win32') return join(env.LOCALAPPDATA ?? join(home, 'AppData', 'Local'), 'o365-mail-proxy');
  const state = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(home, '.local', 'state');
  return join(state, 'o365-mail-proxy');
}
