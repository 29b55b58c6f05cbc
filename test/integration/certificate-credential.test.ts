import { afterEach, describe, expect, it } from 'vitest';
import { generateSelfSignedCertificate } from '../../src/ops/self-signed-certificate.js';
import { python, startStack, type Stack } from '../helpers/stack.js';
import { tempDir } from '../helpers/config.js';
import { join } from 'node:path';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('an app registration with a certificate instead of a secret', () => {
  it('gets tokens with a signed client assertion and logs in', async () => {
    const credential = await generateSelfSignedCertificate(['o365-mail-proxy.contoso.test']);
    const dir = tempDir({ 'app.crt': credential.certPem, 'app.key': credential.keyPem });
    stack = await startStack({
      app: { certificatePem: credential.certPem },
      config: { apps: { contoso: { certificate: { keyFile: join(dir, 'app.key'), certFile: join(dir, 'app.crt') } } } },
      omitSecret: true,
    });
    const seen = await python(stack, { client: 'imap' });
    expect(seen.loginError).toBeUndefined();
    expect(seen.exists).toBe(2);
  });

  it('is refused when Entra does not know the certificate (AADSTS700027)', async () => {
    const registered = await generateSelfSignedCertificate();
    const other = await generateSelfSignedCertificate();
    const dir = tempDir({ 'app.crt': other.certPem, 'app.key': other.keyPem });
    stack = await startStack({
      app: { certificatePem: registered.certPem },
      config: { apps: { contoso: { certificate: { keyFile: join(dir, 'app.key'), certFile: join(dir, 'app.crt') } } } },
      omitSecret: true,
    });
    const seen = await python(stack, { client: 'pop3' });
    expect(seen.loginError).toBe('-ERR [AUTH] client certificate not accepted (AADSTS700027)');
  });
});
