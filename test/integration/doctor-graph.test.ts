import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runDoctor, type Finding } from '../../src/doctor/run.js';
import { hashPassword } from '../../src/config/password-hash.js';
import { Secret } from '../../src/config/secret.js';
import { startSandbox, type Sandbox, type SandboxApp } from '../../src/sandbox/index.js';
import { FAST_HASH_PARAMS, tempDir } from '../helpers/config.js';

const MAILBOX = 'scans@contoso.test';
const TO = 'ap@contoso.test';
let sandbox: Sandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

/** A sandbox tenant and a config whose one account sends through `smtpVia`. */
async function setUp(smtpVia: 'graph' | 'auto', app: Partial<SandboxApp> = {}): Promise<{ configPath: string; app: SandboxApp; sandbox: Sandbox }> {
  const started = await startSandbox();
  sandbox = started;
  const registered = started.registerApp(app);
  started.addMailbox(MAILBOX);
  started.addMailbox(TO);
  started.grantFullAccess(MAILBOX, registered.objectId);
  const dir = tempDir({ 'ca.pem': started.caPem });
  const config = {
    apps: { contoso: { tenantId: started.tenantId, clientId: registered.clientId, clientSecret: registered.clientSecret, authorityHost: started.authorityHost } },
    accounts: { scanner: { passwordHash: await hashPassword(new Secret('x'), FAST_HASH_PARAMS), mailbox: MAILBOX, app: 'contoso', protocols: ['smtp'], smtpVia } },
    listeners: [{ protocol: 'smtp', port: 1587 }],
    upstream: { imap: started.imap, pop3: started.pop3, smtp: started.smtp, caFile: 'ca.pem', graph: { url: started.graphUrl } },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return { configPath: join(dir, 'config.json'), app: registered, sandbox: started };
}

const find = (findings: Finding[], check: string) => findings.find((f) => f.check === check);
const text = (finding: Finding | undefined) => [finding?.summary, ...(finding?.details ?? []), ...(finding?.fix ?? [])].join('\n');

describe('doctor for accounts that send through Microsoft Graph', () => {
  it('checks the Graph token\'s roles, not SMTP AUTH, and says how to add Mail.ReadWrite on Microsoft Graph', async () => {
    const { configPath } = await setUp('graph', { graphRoles: ['Mail.Send'] });
    const findings = await runDoctor({ configPath });
    expect(findings.map((f) => f.check)).toEqual(['config', 'token contoso', 'graph token contoso', 'graph roles contoso']);
    expect(find(findings, 'graph token contoso')!.ok).toBe(true);
    const roles = find(findings, 'graph roles contoso')!;
    expect(roles.ok).toBe(false);
    expect(roles.summary).toMatch(/^the Graph token lacks Mail\.ReadWrite: .*Bcc-only recipients/);
    expect(text(roles)).toContain('Microsoft Graph → Application permissions → Mail.ReadWrite');
  });

  it('--send-test sends a real message, and names an application access policy with the PowerShell that grants the mailbox', async () => {
    const { configPath, app, sandbox: s } = await setUp('graph', { graphRoles: ['Mail.Send', 'Mail.ReadWrite'] });
    const ok = await runDoctor({ configPath, sendTest: TO });
    expect(ok.filter((f) => !f.ok)).toEqual([]);
    expect(find(ok, 'send-test scanner')!.summary).toMatch(new RegExp(`^sent to ${TO} through Microsoft Graph \\(sendMail, request-id `));
    expect(s.graphSent(MAILBOX)).toHaveLength(1);

    s.restrictGraphAccess(app.clientId, []);
    const refused = await runDoctor({ configPath, sendTest: TO });
    for (const check of ['graph access scanner', 'send-test scanner']) {
      const finding = find(refused, check)!;
      expect(finding.ok).toBe(false);
      expect(finding.summary).toBe(`an application access policy (or RBAC for Applications scope) keeps the app from ${MAILBOX}`);
      expect(finding.fix).toContain(`Test-ApplicationAccessPolicy -Identity ${MAILBOX} -AppId ${app.clientId}`);
    }
    expect(s.graphSent(MAILBOX)).toHaveLength(1);
  });

  it('for smtpVia auto, says which path is in use and why, and sends the test through it', async () => {
    const { configPath, sandbox: s } = await setUp('auto', { graphRoles: ['Mail.Send', 'Mail.ReadWrite'] });
    const viaSmtp = await runDoctor({ configPath, sendTest: TO });
    expect(viaSmtp.filter((f) => !f.ok)).toEqual([]);
    expect(find(viaSmtp, 'path scanner')!.summary).toMatch(/^smtpVia auto: sends through SMTP AUTH, which Exchange accepts/);
    expect(find(viaSmtp, 'send-test scanner')!.summary).toMatch(new RegExp(`^sent to ${TO} through SMTP AUTH`));
    expect(s.messages(TO).map(String).filter((m) => m.includes('doctor: test message through SMTP AUTH'))).toHaveLength(1);

    s.controls.smtpAuthDisabled = true;
    const viaGraph = await runDoctor({ configPath, sendTest: TO });
    expect(viaGraph.filter((f) => !f.ok)).toEqual([]);
    expect(find(viaGraph, 'login scanner smtp')!.summary).toMatch(/SMTP AUTH is disabled .*: smtpVia auto sends through Microsoft Graph instead$/);
    expect(find(viaGraph, 'path scanner')!.summary).toMatch(/sends through Microsoft Graph, because Exchange answered SMTP AUTH with 535 5\.7\.139/);
    expect(find(viaGraph, 'send-test scanner')!.summary).toMatch(/through Microsoft Graph/);
    expect(s.graphSent(MAILBOX)).toHaveLength(1);
  });
});
