import { spawn } from 'node:child_process';
import { renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchConfigFile } from '../../src/cli/config-watch.js';
import { hashPassword } from '../../src/config/password-hash.js';
import { Secret } from '../../src/config/secret.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { CLI } from '../helpers/cli.js';
import { FAST_HASH_PARAMS, tempDir } from '../helpers/config.js';
import { freePort } from '../helpers/net.js';
import { curl } from '../helpers/stack.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('watching the config file (start --watch-config)', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox?.close());

  it('applies an edited file of the running proxy (a new password works, the old one not), and refuses a broken edit, keeping the running config', async () => {
    const app = sandbox.registerApp({});
    sandbox.addMailbox('watched@contoso.test', [Buffer.from('Subject: Watched\r\n\r\nhello\r\n')]);
    sandbox.grantFullAccess('watched@contoso.test', app.objectId);
    const port = await freePort();
    const dir = tempDir({ 'ca.pem': sandbox.caPem });
    const file = join(dir, 'config.json');
    const configWith = async (password: string) => JSON.stringify({
      apps: { contoso: { tenantId: sandbox.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, authorityHost: sandbox.authorityHost } },
      accounts: { talend: { passwordHash: await hashPassword(new Secret(password), FAST_HASH_PARAMS), mailbox: 'watched@contoso.test', app: 'contoso' } },
      listeners: [{ protocol: 'imap', port, tls: 'none' }],
      upstream: { imap: sandbox.imap, pop3: sandbox.pop3, smtp: sandbox.smtp, caFile: 'ca.pem' },
    }, null, 2);
    writeFileSync(file, await configWith('first password'));

    const proxy = spawn(process.execPath, [CLI, 'start', '--config', file, '--watch-config', '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proxy.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    proxy.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const events = () => log.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { event?: string; trigger?: string; problems?: string[] });
    const waitFor = async (event: string, count = 1) => {
      const deadline = Date.now() + 15_000;
      while (events().filter((e) => e.event === event).length < count && Date.now() < deadline) await sleep(50);
      expect(events().filter((e) => e.event === event), log).toHaveLength(count);
    };
    const login = async (password: string) => (await curl(['--user', `talend:${password}`, `imap://127.0.0.1:${port}/INBOX;UID=1`])).code;
    try {
      await waitFor('config.watching');
      expect(await login('first password')).toBe(0);

      writeFileSync(file, await configWith('second password'));
      await waitFor('reload');
      expect(await login('second password')).toBe(0);
      expect(await login('first password')).toBe(67); // curl: login denied

      writeFileSync(file, '{ "apps": ');
      await waitFor('reload.rejected');
      expect(events().find((e) => e.event === 'reload.rejected')).toMatchObject({ trigger: 'file-change', problems: [expect.stringMatching(/^\(file\): is not valid JSON/)] });
      expect(await login('second password')).toBe(0);
      // One reload, one refusal: the broken file is reported once, not at every look.
      await sleep(1500);
      expect(events().filter((e) => e.event === 'reload' || e.event === 'reload.rejected')).toHaveLength(2);
    } finally {
      proxy.kill('SIGTERM');
    }
    expect(await new Promise((resolve) => proxy.once('exit', resolve))).toBe(0);
  });
});

describe('watchConfigFile', () => {
  it('reports a burst of writes once, after the file has been quiet; a touch without changes not at all', async () => {
    const file = join(tempDir({ 'config.json': '{"a":0}' }), 'config.json');
    let changes = 0;
    // A long quiet time, so a slow machine cannot end the burst early.
    const watch = watchConfigFile(file, () => changes++, { pollMs: 50, quietMs: 1000 });
    try {
      for (let i = 1; i <= 5; i++) {
        writeFileSync(file, `{"a":${i}}`);
        await sleep(60);
      }
      expect(changes).toBe(0);
      await sleep(1500);
      expect(changes).toBe(1);
      utimesSync(file, new Date(), new Date(Date.now() + 5000));
      await sleep(1500);
      expect(changes).toBe(1);
    } finally {
      watch.close();
    }
  });

  it('sees a file replaced by a rename, as editors and Kubernetes ConfigMaps do', async () => {
    const dir = tempDir({ 'config.json': '{"a":0}', 'config.json.new': '{"a":1}' });
    const file = join(dir, 'config.json');
    let changes = 0;
    const watch = watchConfigFile(file, () => changes++, { pollMs: 50, quietMs: 200 });
    try {
      await sleep(100);
      renameSync(join(dir, 'config.json.new'), file);
      await sleep(700);
      expect(changes).toBe(1);
    } finally {
      watch.close();
    }
  });
});
