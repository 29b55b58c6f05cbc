import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { ACCOUNT, delegatedSetup, UPN, userCodeIn } from '../helpers/delegated.js';
import { python } from '../helpers/instance.js';
import { PASSWORD, python as pythonThrough } from '../helpers/stack.js';

interface Line { event?: string; worker?: number; proto?: string; port?: number }

describe('workers with a delegated account', () => {
  it('every worker logs in with the stored sign-in, renews it, and the instance reports it valid', async () => {
    const s = await delegatedSetup({ storeKey: true });
    try {
      expect((await s.login([], { approve: (shown) => s.sandbox.approveDeviceCode(userCodeIn(shown), UPN) })).status).toBe(0);
      s.raw.workers = 2;
      s.raw.admin = { port: 0 };
      s.raw.listeners = [{ protocol: 'imap', port: 0, tls: 'none' }];
      writeFileSync(s.configFile, JSON.stringify(s.raw));
      let output = '';
      const child = spawn(process.execPath, [CLI, 'start', '--config', s.configFile, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const lines = () => output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
      try {
        await vi.waitFor(() => {
          if (!lines().some((l) => l.event === 'ready') || lines().filter((l) => l.event === 'listening').length < 2) throw new Error(output);
        }, { timeout: 30_000, interval: 50 });
        const admin = lines().find((l) => l.event === 'admin.listening')!.port!;
        const ports = { imap: lines().find((l) => l.event === 'listening')!.port!, pop3: 0, smtp: 0, admin };
        // Connections are dealt to the workers in turn: four logins reach both.
        for (let i = 0; i < 4; i++) {
          expect((await python({ ports }, { client: 'imap', user: ACCOUNT, password: PASSWORD })).exists, output).toBe(2);
        }
        expect(new Set(lines().filter((l) => l.event === 'auth.ok').map((l) => l.worker))).toEqual(new Set([1, 2]));
        const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
        expect(metrics).toMatch(/^o365p_delegated_signin_valid\{account="me"\} 1$/m);
        expect((await fetch(`http://127.0.0.1:${admin}/readyz`)).status).toBe(200);
        // No token of the sign-in in any process's output.
        expect(output).not.toMatch(/eyJ[\w-]{20,}\.[\w-]{20,}/);
      } finally {
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
      }
      // The store the workers renewed (each rotating the refresh token) still opens: a new login
      // through a single proxy works.
      delete s.raw.workers;
      const stack = await s.startProxy();
      try {
        expect((await pythonThrough(stack, { client: 'imap', user: ACCOUNT, password: PASSWORD })).exists).toBe(2);
      } finally {
        await stack.close();
      }
    } finally {
      await s.close();
    }
  }, 120_000);
});
