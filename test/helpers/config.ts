import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary directory with files in it (removed after the run, see temp-root.ts); returns its path. */
export function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(process.env.O365P_TEST_TMP ?? tmpdir(), 'o365p-test-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

// A real hash of "right password" (ln=10 keeps unit tests fast; production uses ln=15).
export const FAST_HASH_PARAMS = { ln: 10, r: 8, p: 1 };

export function minimalConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apps: { contoso: { tenantId: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', clientSecret: 'abc~secret.value' } },
    accounts: { talend: { passwordHash: 'scrypt:ln=10,r=8,p=1:c2FsdA==:aGFzaA==', mailbox: 'invoices@contoso.com', app: 'contoso' } },
    listeners: [{ protocol: 'imap', port: 1143, tls: 'none' }],
    ...overrides,
  };
}
