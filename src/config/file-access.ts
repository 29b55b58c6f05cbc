import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname, parse } from 'node:path';

/**
 * Why the proxy may not read a file it needs, worded for whoever set up the service: which user
 * the process runs as, who owns the file (or the directory in the way) with which mode, and
 * the commands that let the process in. Typical case: gen-cert run as root wrote the key 0600,
 * and the service runs as its own user (systemd) or as uid 1000 (the container image).
 * Undefined for other errors, and where there are no POSIX users (Windows).
 */
export function unreadableFile(path: string, code: string): { problem: string; fix: string } | undefined {
  if ((code !== 'EACCES' && code !== 'EPERM') || !process.getuid || !process.getgid) return undefined;
  const uid = process.getuid();
  const gid = process.getgid();
  // chgrp takes a number where the group has no name (an arbitrary container gid).
  const group = accountName('/etc/group', gid) ?? String(gid);
  const runsAs = `the proxy runs as ${described('uid', uid, '/etc/passwd')}, ${described('gid', gid, '/etc/group')}`;
  const blocked = firstUnsearchableDirectory(path);
  if (blocked) {
    const ownDirectory = ownerOf(blocked) === uid;
    return {
      problem: `cannot read ${path} (${code}): ${runsAs} and may not enter ${blocked}, ${ownership(blocked)}`,
      fix: ownDirectory
        ? `chmod u+x ${shellQuote(blocked)}`
        : `as root: chgrp ${group} ${shellQuote(blocked)} && chmod g+x ${shellQuote(blocked)}, or move the file to a directory that user may enter`,
    };
  }
  return {
    problem: `cannot read ${path} (${code}): ${runsAs}; the file is ${ownership(path)}`,
    fix: `let group ${group} read it (as root or the file's owner): chgrp ${group} ${shellQuote(path)} && chmod 640 ${shellQuote(path)}`,
  };
}

/** A group's id from its name or number (as `chgrp` takes it), or undefined if there is no such group. */
export function groupId(nameOrId: string): number | undefined {
  if (/^\d+$/.test(nameOrId)) return Number(nameOrId);
  const entry = accountEntries('/etc/group').find(([name]) => name === nameOrId);
  return entry ? Number(entry[2]) : undefined;
}

function ownerOf(path: string): number | undefined {
  try {
    return statSync(path).uid;
  } catch {
    return undefined;
  }
}

function ownership(path: string): string {
  try {
    const stat = statSync(path);
    const mode = (stat.mode & 0o7777).toString(8).padStart(4, '0');
    return `owned by ${described('uid', stat.uid, '/etc/passwd')}, ${described('gid', stat.gid, '/etc/group')}, mode ${mode}`;
  } catch {
    return 'whose owner and mode cannot be read';
  }
}

/** The first directory on the way to `path` the process may not pass through (no x bit for it). */
function firstUnsearchableDirectory(path: string): string | undefined {
  const chain: string[] = [];
  for (let dir = dirname(path); dir !== parse(dir).root; dir = dirname(dir)) chain.unshift(dir);
  return chain.find((dir) => {
    try {
      accessSync(dir, constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
}

function described(kind: 'uid' | 'gid', id: number, file: '/etc/passwd' | '/etc/group'): string {
  const name = accountName(file, id);
  return name ? `${kind} ${id} (${name})` : `${kind} ${id}`;
}

/** The name of a user or group id; none for a container's arbitrary uid or an account only NSS knows. */
function accountName(file: '/etc/passwd' | '/etc/group', id: number): string | undefined {
  return accountEntries(file).find((fields) => fields[2] === String(id))?.[0];
}

function accountEntries(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((line) => line && !line.startsWith('#')).map((line) => line.split(':'));
  } catch {
    return [];
  }
}

function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
