import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { curl } from '../helpers/stack.js';
import { MAILBOX, PASSWORD, python, startInstance, waitForLog, type Instance, type LogEntry } from '../helpers/instance.js';
import { WireClient } from '../helpers/wire.js';

let instance: Instance | undefined;
afterEach(async () => {
  instance?.child.kill('SIGKILL');
  await instance?.sandbox.close();
  instance = undefined;
});

/** The workers (by id) that wrote the lines `match` accepts. */
const workersOf = (entries: LogEntry[], match: (e: LogEntry) => boolean) => new Set(entries.filter(match).map((e) => e.worker));

async function imapGreeting(port: number): Promise<{ client: WireClient; greeting: string }> {
  const client = await WireClient.open(port);
  return { client, greeting: await client.line() };
}

async function metrics(port: number): Promise<string> {
  return (await curl([`http://127.0.0.1:${port}/metrics`])).stdout.toString();
}

describe('workers: 2', () => {
  it('serves IMAP, POP3 and SMTP logins on both workers, and /metrics sums them', async () => {
    instance = await startInstance();
    expect(workersOf(await waitForLog(instance, (e) => e.event === 'listening', 6), () => true)).toEqual(new Set([1, 2]));
    for (let i = 0; i < 4; i++) expect((await python(instance, { client: 'imap' })).loginResponse).toBeDefined();
    for (let i = 0; i < 2; i++) expect((await python(instance, { client: 'pop3' })).loginResponse).toMatch(/^\+OK/);
    const sent = await python(instance, { client: 'smtp', auth: 'PLAIN', messages: [{ from: MAILBOX, to: ['ap@contoso.test'], text: 'Subject: via a worker\r\n\r\nhello\r\n' }] });
    expect(sent.sent).toEqual([{ ok: true, refused: {} }]);
    expect(instance.sandbox.messages('ap@contoso.test').map(String)).toContain('Subject: via a worker\r\n\r\nhello\r\n');
    const logins = await waitForLog(instance, (e) => e.event === 'auth.ok', 7);
    expect(workersOf(logins, (e) => e.proto === 'imap')).toEqual(new Set([1, 2]));
    // Summed over the workers: each worker alone saw only part of the logins.
    const text = await metrics(instance.ports.admin);
    expect(text).toContain('o365p_logins_total{protocol="imap",result="ok",reason=""} 4');
    expect(text).toContain('o365p_logins_total{protocol="pop3",result="ok",reason=""} 2');
    expect(text).toContain('o365p_logins_total{protocol="smtp",result="ok",reason=""} 1');
    // One token cache per worker: each asked Entra ID once.
    expect(text).toContain('o365p_token_requests_total{app="contoso"} 2');
    expect((await curl([`http://127.0.0.1:${instance.ports.admin}/readyz`])).stdout.toString()).toBe('{"ready":true,"apps":{"contoso":"ok"}}\n');
  }, 60_000);

  it('locks a guessed pair after clients.maxFailedLogins failures, however they spread over the workers', async () => {
    instance = await startInstance({ clients: { maxFailedLogins: 3, maxLoginAttemptsPerConnection: 1 } });
    for (let i = 0; i < 6; i++) expect((await python(instance, { client: 'imap', password: 'guess' })).loginError).toMatch(/AUTHENTICATIONFAILED/);
    expect((await python(instance, { client: 'imap' })).loginError).toMatch(/AUTHENTICATIONFAILED/);
    const failures = await waitForLog(instance, (e) => e.event === 'auth.fail', 7);
    expect(workersOf(failures, () => true)).toEqual(new Set([1, 2]));
    // Three password checks in all, then the pair is locked on every worker.
    expect(failures.filter((e) => e.reason === 'wrong-password')).toHaveLength(3);
    expect(failures.filter((e) => e.reason === 'too-many-failures')).toHaveLength(4);
    // The primary counted them; it never writes the username or the password.
    expect(instance.entries().filter((e) => e.worker === 0).map((e) => JSON.stringify(e)).join('\n')).not.toMatch(/talend|guess|right password/);
  }, 60_000);

  it('counts one job\'s burst of logins with the same credentials once, on whichever workers they land', async () => {
    instance = await startInstance({ clients: { maxFailedLogins: 1 } });
    const answers = await Promise.all(Array.from({ length: 8 }, async () => {
      const { client } = await imapGreeting(instance!.ports.imap);
      client.send(`a LOGIN talend "${PASSWORD}"\r\n`);
      const answer = await client.line();
      client.close();
      return answer;
    }));
    expect(answers.filter((a) => !a.startsWith('a OK')), instance.output()).toEqual([]);
    // Each worker writes its log lines asynchronously: wait for all of them.
    expect(workersOf(await waitForLog(instance, (e) => e.event === 'auth.ok', 8), () => true)).toEqual(new Set([1, 2]));
  }, 60_000);

  it('holds clients.maxConnections for the instance, and gives back the places of a killed worker', async () => {
    instance = await startInstance({ clients: { maxConnections: 2 } });
    const first = await imapGreeting(instance.ports.imap);
    const second = await imapGreeting(instance.ports.imap);
    expect([first.greeting, second.greeting]).toEqual([expect.stringMatching(/^\* OK/), expect.stringMatching(/^\* OK/)]);
    const third = await imapGreeting(instance.ports.imap);
    expect(third.greeting).toBe('* BYE [UNAVAILABLE] Too many connections, try again later.');
    await third.client.ended();

    // SIGKILL one worker: its connection dies with it, and its place must come back.
    const victim = instance.entries().find((e) => e.event === 'worker.ready')!;
    process.kill(victim.workerPid!, 'SIGKILL');
    await waitForLog(instance, (e) => e.event === 'worker.exit' && e.workerId === victim.workerId);
    await waitForLog(instance, (e) => e.event === 'worker.ready', 3);
    const replacement = await imapGreeting(instance.ports.imap);
    expect(replacement.greeting).toMatch(/^\* OK/);
    for (const c of [first, second, replacement]) c.client.close();
  }, 60_000);

  it('on SIGHUP reloads every worker, and refuses a broken config on all of them', async () => {
    instance = await startInstance();
    await instance.writeConfig({ talend: PASSWORD, scanner: 'new one' });
    instance.child.kill('SIGHUP');
    await waitForLog(instance, (e) => e.event === 'reload', 2);
    for (let i = 0; i < 4; i++) expect((await python(instance, { client: 'imap', user: 'scanner', password: 'new one' })).loginResponse).toBeDefined();
    const logins = await waitForLog(instance, (e) => e.event === 'auth.ok' && e.user === 'scanner', 4);
    expect(workersOf(logins, () => true)).toEqual(new Set([1, 2]));

    writeFileSync(instance.configPath, '{"apps": {}}');
    instance.child.kill('SIGHUP');
    const rejected = await waitForLog(instance, (e) => e.event === 'reload.rejected');
    expect(rejected.map((e) => e.worker)).toEqual([0]);
    for (let i = 0; i < 2; i++) expect((await python(instance, { client: 'imap', user: 'scanner', password: 'new one' })).loginResponse).toBeDefined();
    expect(instance.entries().filter((e) => e.event === 'reload')).toHaveLength(2);
  }, 60_000);

  it('on SIGTERM stops every worker as one process stops: BYE, the SMTP message in flight delivered, exit 0', async () => {
    instance = await startInstance();
    const sessions = await Promise.all([0, 1].map(async () => {
      const imap = await WireClient.open(instance!.ports.imap);
      await imap.line();
      imap.send(`a LOGIN talend "${PASSWORD}"\r\n`);
      await imap.until(/^a OK/);
      return imap;
    }));
    const smtp = await WireClient.open(instance.ports.smtp);
    await smtp.line();
    smtp.send(`EHLO test\r\nAUTH PLAIN ${Buffer.from(`\0talend\0${PASSWORD}`).toString('base64')}\r\n`);
    await smtp.until(/^235 /);
    smtp.send(`MAIL FROM:<${MAILBOX}>\r\nRCPT TO:<ap@contoso.test>\r\nDATA\r\n`);
    await smtp.until(/^354 /);
    expect(workersOf(await waitForLog(instance, (e) => e.event === 'auth.ok', 3), () => true)).toEqual(new Set([1, 2]));

    instance.child.kill('SIGTERM');
    for (const imap of sessions) expect(await imap.line()).toBe('* BYE o365-mail-proxy is shutting down.');
    smtp.send('Subject: during shutdown\r\n\r\nstill delivered\r\n.\r\n');
    expect(await smtp.line()).toMatch(/^250 /);
    expect(instance.sandbox.messages('ap@contoso.test').map(String)).toContain('Subject: during shutdown\r\n\r\nstill delivered\r\n');
    smtp.send('QUIT\r\n');
    expect(await instance.exited).toBe(0);
    expect(workersOf(instance.entries(), (e) => e.event === 'stopped')).toEqual(new Set([0, 1, 2]));
    // Neither the password nor the client secret reached a line, from any of the three processes.
    expect(instance.output()).not.toContain(PASSWORD);
    expect(instance.output()).not.toContain(Buffer.from(`\0talend\0${PASSWORD}`).toString('base64'));
    expect(instance.output()).not.toContain(instance.clientSecret);
  }, 60_000);

  it('with --watch-config, the primary sees the change and every worker reloads', async () => {
    instance = await startInstance({}, ['--watch-config']);
    await instance.writeConfig({ talend: PASSWORD, scanner: 'new one' });
    expect(new Set((await waitForLog(instance, (e) => e.event === 'reload', 2)).map((e) => e.worker))).toEqual(new Set([1, 2]));
    for (let i = 0; i < 2; i++) expect((await python(instance, { client: 'imap', user: 'scanner', password: 'new one' })).loginResponse).toBeDefined();
  }, 60_000);

  it('stops its workers, each as SIGTERM would, when the primary is gone', async () => {
    instance = await startInstance();
    const pids = instance.entries().filter((e) => e.event === 'worker.ready').map((e) => e.workerPid!);
    expect(pids).toHaveLength(2);
    instance.child.kill('SIGKILL');
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await vi.waitFor(() => expect(pids.filter(alive)).toEqual([]), { timeout: 20_000, interval: 50 });
    // Their own lines, on the output they share with the primary: a goodbye, not a crash.
    expect(workersOf(instance.entries(), (e) => e.event === 'worker.orphaned')).toEqual(new Set([1, 2]));
    expect(workersOf(instance.entries(), (e) => e.event === 'stopped')).toEqual(new Set([1, 2]));
  }, 60_000);
});
