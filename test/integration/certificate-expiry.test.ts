import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certificateValidities } from '../../src/ops/certificate-expiry.js';
import { generateSelfSignedCertificate } from '../../src/ops/self-signed-certificate.js';
import { validateConfig } from '../../src/config/validate.js';
import { runDoctor } from '../../src/doctor/run.js';
import { createLogger } from '../../src/ops/log.js';
import { startProxy } from '../../src/listen/proxy.js';
import { minimalConfig, tempDir } from '../helpers/config.js';
import { freePort, logCapture } from '../helpers/net.js';

/** A config whose local TLS certificate lasts `localDays` and whose app uses a certificate lasting `appDays`. */
async function configWithCertificates(localDays: number, appDays: number): Promise<{ dir: string; raw: Record<string, unknown> }> {
  const [local, app] = await Promise.all([generateSelfSignedCertificate(['localhost'], ['127.0.0.1'], localDays), generateSelfSignedCertificate(['contoso-app'], [], appDays)]);
  const dir = tempDir({ 'local.crt': local.certPem, 'local.key': local.keyPem, 'app.crt': app.certPem, 'app.key': app.keyPem });
  // Doctor goes on to ask for a token and log in: a closed loopback port answers both, nothing leaves the machine.
  const closed = { host: '127.0.0.1', port: await freePort() };
  const raw = minimalConfig({
    apps: { contoso: { tenantId: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', certificate: { keyFile: 'app.key', certFile: 'app.crt' }, authorityHost: `https://127.0.0.1:${closed.port}` } },
    listeners: [{ protocol: 'imap', port: 0, tls: 'implicit' }],
    tls: { certFile: 'local.crt', keyFile: 'local.key' },
    upstream: { imap: closed, pop3: closed, smtp: closed },
  });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(raw));
  return { dir, raw };
}

describe('certificates that run out', () => {
  it('are measured in days left, for the local listener and for an app\'s certificate credential', async () => {
    const { dir, raw } = await configWithCertificates(400, 10);
    const now = Date.now();
    const validities = certificateValidities(validateConfig(raw, dir), now);
    expect(validities.map((c) => [c.key, c.daysLeft])).toEqual([['tls.certFile', 399], ['apps.contoso.certificate.certFile', 9]]);
    expect(certificateValidities(validateConfig(raw, dir), now + 11 * 86_400_000).map((c) => c.daysLeft)).toEqual([388, -2]);
  });

  it('warn in the log and show as a metric when the proxy starts, and fail doctor with the fix', async () => {
    const { dir, raw } = await configWithCertificates(20, 400);
    const lines: string[] = [];
    const proxy = await startProxy(validateConfig(raw, dir), createLogger({ level: 'info', format: 'json', destination: logCapture(lines) }));
    try {
      const warning = lines.map((line) => JSON.parse(line)).find((entry) => entry.event === 'certificate.expiring');
      expect(warning).toMatchObject({ level: 40, certificate: 'tls.certFile', daysLeft: 19, fix: expect.stringContaining('gen-cert --force') });
      expect(warning.msg).toMatch(/^tls\.certFile is valid until \d{4}-\d\d-\d\d \(19 days\)$/);
      const metrics = await proxy.metrics.render();
      expect(metrics).toMatch(/o365p_certificate_expiry_timestamp_seconds\{certificate="tls\.certFile"\} \d{10}/);
      expect(metrics).toMatch(/o365p_certificate_expiry_timestamp_seconds\{certificate="apps\.contoso\.certificate\.certFile"\} \d{10}/);
    } finally {
      await proxy.close();
    }

    const findings = await runDoctor({ configPath: join(dir, 'config.json') });
    const local = findings.find((f) => f.check === 'certificate tls.certFile');
    expect(local).toMatchObject({ ok: false, summary: expect.stringMatching(/\(19 days\)$/), fix: [expect.stringContaining('gen-cert --force')] });
    expect(findings.find((f) => f.check === 'certificate apps.contoso.certificate.certFile')).toMatchObject({ ok: true });
  });
});
