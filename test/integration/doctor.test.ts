import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runDoctor, type Finding } from '../../src/doctor/run.js';
import { hashPassword } from '../../src/config/password-hash.js';
import { Secret } from '../../src/config/secret.js';
import { startSandbox, type Sandbox, type SandboxApp } from '../../src/sandbox/index.js';
import { FAST_HASH_PARAMS, tempDir } from '../helpers/config.js';
import { freePort } from '../helpers/net.js';

const MAILBOX = 'invoices@contoso.test';
let sandbox: Sandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

interface Setup {
  app?: Partial<SandboxApp>;
  grant?: boolean;
  /** Put another client ID or secret into the config than the sandbox knows. */
  clientId?: string;
  clientSecret?: string;
  /** More upstream settings (e.g. an outbound proxy). */
  upstream?: Record<string, unknown>;
}

/** A sandbox tenant set up (or broken) as asked, and a config file pointing at it. */
async function setUp(setup: Setup = {}): Promise<{ configPath: string; app: SandboxApp }> {
  sandbox = await startSandbox();
  const app = sandbox.registerApp(setup.app ?? {});
  sandbox.addMailbox(MAILBOX);
  if (setup.grant !== false) sandbox.grantFullAccess(MAILBOX, app.objectId);
  const dir = tempDir({ 'ca.pem': sandbox.caPem });
  const config = {
    apps: { contoso: { tenantId: sandbox.tenantId, clientId: setup.clientId ?? app.clientId, clientSecret: setup.clientSecret ?? app.clientSecret, authorityHost: sandbox.authorityHost } },
    accounts: { talend: { passwordHash: await hashPassword(new Secret('x'), FAST_HASH_PARAMS), mailbox: MAILBOX, app: 'contoso' } },
    listeners: [{ protocol: 'imap', port: 1143 }],
    upstream: { imap: sandbox.imap, pop3: sandbox.pop3, smtp: sandbox.smtp, caFile: 'ca.pem', ...setup.upstream },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return { configPath: join(dir, 'config.json'), app };
}

const failed = (findings: Finding[]) => findings.filter((f) => !f.ok);
const text = (finding: Finding | undefined) => [finding?.summary, ...(finding?.details ?? []), ...(finding?.fix ?? [])].join('\n');

describe('o365-mail-proxy doctor', () => {
  it('passes every check of a correct setup, and shows the token\'s claims', async () => {
    const { configPath, app } = await setUp();
    const findings = await runDoctor({ configPath });
    expect(failed(findings)).toEqual([]);
    expect(findings.map((f) => f.check)).toEqual(['config', 'token contoso', 'roles contoso', 'login talend imap', 'login talend pop3', 'login talend smtp']);
    expect(text(findings[1])).toContain(`service principal object ID (oid): ${app.objectId}`);
    expect(text(findings[1])).toContain(`application (appid): ${app.clientId}`);
  });

  it('reports every config problem with the key and the fix', async () => {
    const dir = tempDir({ 'config.json': JSON.stringify({ apps: {}, accounts: {}, listeners: [] }) });
    const findings = await runDoctor({ configPath: join(dir, 'config.json') });
    expect(findings.map((f) => f.summary)).toEqual(['apps: no app registration is configured', 'accounts: no local account is configured', 'listeners: no listener is configured']);
    expect(findings.every((f) => !f.ok && f.fix?.length)).toBe(true);
  });

  it('bad client secret: explains AADSTS7000215 and how to copy the value', async () => {
    const { configPath } = await setUp({ clientSecret: 'Not~The~Secret~Value' });
    const [problem] = failed(await runDoctor({ configPath }));
    expect(problem?.check).toBe('token contoso');
    expect(problem?.summary).toBe('no access token: the client secret is wrong: usually the secret\'s ID was copied instead of its value (AADSTS7000215)');
    expect(text(problem)).toContain('copy the Value column');
    expect(text(problem)).not.toContain('Not~The~Secret~Value');
  });

  it('unknown app: explains AADSTS700016', async () => {
    const { configPath } = await setUp({ clientId: '0b0b0b0b-1111-2222-3333-444444444444' });
    const [problem] = failed(await runDoctor({ configPath }));
    expect(problem?.summary).toMatch(/no application with this client ID exists in this tenant \(AADSTS700016\)/);
  });

  it('no admin consent: names the missing roles and where to add them', async () => {
    const { configPath } = await setUp({ app: { roles: [] } });
    const problems = failed(await runDoctor({ configPath }));
    expect(problems[0]?.check).toBe('roles contoso');
    expect(problems[0]?.summary).toBe('the token lacks IMAP.AccessAsApp, POP.AccessAsApp, SMTP.SendAsApp');
    expect(text(problems[0])).toMatch(/Office 365 Exchange Online → Application permissions → IMAP\.AccessAsApp/);
    expect(text(problems[0])).toMatch(/Grant admin consent/);
  });

  it('service principal not registered: gives New-ServicePrincipal with the real IDs', async () => {
    const { configPath, app } = await setUp({ app: { servicePrincipalRegistered: false } });
    const problems = failed(await runDoctor({ configPath, protocol: 'imap' }));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.summary).toMatch(/service principal is likely not registered in Exchange/);
    expect(problems[0]?.fix).toContain(`New-ServicePrincipal -AppId ${app.clientId} -ObjectId ${app.objectId} -DisplayName "o365-mail-proxy"`);
    expect(text(problems[0])).toMatch(/object ID of the Enterprise application/);
  });

  it('no mailbox permission: gives Add-MailboxPermission for the mailbox and object ID', async () => {
    const { configPath, app } = await setUp({ grant: false });
    const problems = failed(await runDoctor({ configPath, protocol: 'imap' }));
    expect(problems[0]?.summary).toMatch(/no permission on invoices@contoso\.test/);
    expect(problems[0]?.fix).toContain(`Add-MailboxPermission -Identity ${MAILBOX} -User ${app.objectId} -AccessRights FullAccess`);
    const smtp = failed(await runDoctor({ configPath, protocol: 'smtp' }));
    expect(smtp[0]?.fix).toContain(`Add-MailboxPermission -Identity ${MAILBOX} -User ${app.objectId} -AccessRights FullAccess`);
  });

  it('SMTP AUTH disabled: gives Set-CASMailbox', async () => {
    const { configPath } = await setUp();
    sandbox!.controls.smtpAuthDisabled = true;
    const problems = failed(await runDoctor({ configPath }));
    expect(problems.map((p) => p.check)).toEqual(['login talend smtp']);
    expect(problems[0]?.fix).toContain(`Set-CASMailbox -Identity ${MAILBOX} -SmtpClientAuthenticationDisabled $false`);
  });

  it('outbound proxy: says the token requests go through it, and that it cannot be reached', async () => {
    const closed = await freePort();
    const { configPath } = await setUp({ upstream: { httpProxy: { url: `http://127.0.0.1:${closed}` } } });
    const findings = await runDoctor({ configPath });
    expect(findings[0]?.details).toEqual([`outbound: token requests through proxy 127.0.0.1:${closed}, mail connections direct`]);
    const [problem] = failed(findings);
    expect(problem?.check).toBe('token contoso');
    expect(text(problem)).toContain(`cannot connect to proxy 127.0.0.1:${closed}: ECONNREFUSED`);
  });

  it('runs as a command: exit code, plain checklist when piped, JSON on request', async () => {
    const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
    const good = await setUp();
    // Run asynchronously: the sandbox answering the doctor lives in this process.
    const doctor = (args: string[]) => new Promise<{ status: number; stdout: string }>((resolve) => {
      execFile('node', [cli, 'doctor', ...args], { encoding: 'utf8' }, (error, stdout) => resolve({ status: error ? Number(error.code) : 0, stdout }));
    });
    const ok = await doctor(['--config', good.configPath, '--account', 'talend']);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^✓ config: /);
    expect(ok.stdout).not.toContain('\u001b[');
    expect(ok.stdout).toMatch(/all 6 checks passed/);
    await sandbox!.close();
    const bad = await setUp({ grant: false });
    const json = await doctor(['--config', bad.configPath, '--protocol', 'imap', '--json']);
    expect(json.status).toBe(1);
    const report = JSON.parse(json.stdout) as { ok: boolean; findings: Finding[] };
    expect(report.ok).toBe(false);
    expect(report.findings.at(-1)).toMatchObject({ check: 'login talend imap', ok: false });
  });
});
