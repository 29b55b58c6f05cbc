import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSelfSignedCertificate } from '../../src/ops/self-signed-certificate.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError, validateConfig } from '../../src/config/validate.js';
import { checkShape } from '../../src/config/shape.js';
import { minimalConfig, tempDir } from '../helpers/config.js';

function problems(raw: unknown, dir = tempDir()): string[] {
  try {
    validateConfig(raw, dir);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.key}: ${p.problem}`);
    throw error;
  }
  return [];
}

function fullProblems(raw: unknown): unknown[] {
  try {
    validateConfig(raw, tempDir());
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('config validation', () => {
  it('fills in the commercial-cloud defaults', () => {
    const config = validateConfig(minimalConfig(), tempDir());
    const app = config.apps.get('contoso')!;
    expect(app.authorityHost).toBe('https://login.microsoftonline.com');
    expect(app.scope).toBe('https://outlook.office365.com/.default');
    expect(config.upstream.imap).toEqual({ host: 'outlook.office365.com', port: 993 });
    expect(config.upstream.pop3).toEqual({ host: 'outlook.office365.com', port: 995 });
    expect(config.upstream.smtp).toEqual({ host: 'smtp.office365.com', port: 587 });
    expect(config.listeners[0]).toEqual({ protocol: 'imap', host: '127.0.0.1', port: 1143, tls: 'none' });
    expect(config.accounts.get('talend')!.protocols).toEqual(['imap', 'pop3', 'smtp']);
  });

  it('switches every endpoint with "cloud"', () => {
    const config = validateConfig(minimalConfig({ cloud: 'gcc-high' }), tempDir());
    expect(config.apps.get('contoso')!.authorityHost).toBe('https://login.microsoftonline.us');
    expect(config.apps.get('contoso')!.scope).toBe('https://outlook.office365.us/.default');
    expect(config.upstream.smtp.host).toBe('smtp.office365.us');
    // Graph: its own host per cloud, and the Graph token's scope follows it.
    expect(config.upstream.graph.url).toBe('https://graph.microsoft.us');
    expect(config.apps.get('contoso')!.graphScope).toBe('https://graph.microsoft.us/.default');
    const china = validateConfig(minimalConfig({ cloud: 'china' }), tempDir());
    expect(china.upstream.graph.url).toBe('https://microsoftgraph.chinacloudapi.cn');
    expect(validateConfig(minimalConfig({ cloud: 'dod' }), tempDir()).upstream.graph.url).toBe('https://dod-graph.microsoft.us');
  });

  it('sends through SMTP unless an account says smtpVia graph or auto; graphScope follows upstream.graph.url', () => {
    const config = validateConfig(minimalConfig({ upstream: { graph: { url: 'https://127.0.0.1:8443' } } }), tempDir());
    expect(config.accounts.get('talend')!.smtpVia).toBe('smtp');
    expect(config.apps.get('contoso')!.graphScope).toBe('https://127.0.0.1:8443/.default');
    const viaGraph = minimalConfig();
    (viaGraph.accounts as any).talend.smtpVia = 'graph';
    expect(validateConfig(viaGraph, tempDir()).accounts.get('talend')!.smtpVia).toBe('graph');
    (viaGraph.accounts as any).talend.smtpVia = 'rest';
    expect(problems(viaGraph)).toContainEqual(expect.stringMatching(/^accounts\.talend\.smtpVia: "rest" is not allowed/));
    expect(problems(minimalConfig({ upstream: { graph: { url: 'https://graph.microsoft.com/v1.0' } } }))).toContainEqual(expect.stringMatching(/^upstream\.graph\.url: .* is not an https:\/\/ URL without a path/));
    const scoped = minimalConfig();
    (scoped.apps as any).contoso.graphScope = 'https://graph.microsoft.com/Mail.Send';
    expect(problems(scoped)).toContainEqual(expect.stringMatching(/^apps\.contoso\.graphScope: must end in "\/\.default"/));
  });

  it('reports every problem with its key, not just the first', () => {
    const found = problems({
      apps: { contoso: { tenantId: 'common', clientId: 'not-a-guid' } },
      accounts: { talend: { passwordHash: 'plain-password', mailbox: 'nope', app: 'fabrikam', protocols: ['imap', 'http'] } },
      listeners: [{ protocol: 'imap', port: 70000 }],
      logg: {},
    });
    expect(found).toEqual(expect.arrayContaining([
      expect.stringMatching(/^logg: is not a known setting/),
      expect.stringMatching(/^apps\.contoso\.tenantId: "common" does not work/),
      expect.stringMatching(/^apps\.contoso\.clientId: "not-a-guid" is not a GUID/),
      expect.stringMatching(/^accounts\.talend\.passwordHash: is not a hash made by hash-password/),
      expect.stringMatching(/^accounts\.talend\.mailbox: "nope" is not an email address/),
      expect.stringMatching(/^accounts\.talend\.app: "fabrikam" is not defined under "apps" \(defined: contoso\)/),
      expect.stringMatching(/^accounts\.talend\.protocols\[1\]: "http" is not allowed/),
      expect.stringMatching(/^listeners\[0\]\.port: must be a port number/),
    ]));
  });

  it('takes the connection limits, with defaults that let 1,000 clients of one host in at once', () => {
    expect(validateConfig(minimalConfig(), tempDir()).clients).toMatchObject({ maxConnections: 4000, maxConnectionsPerAddress: 1000 });
    expect(validateConfig(minimalConfig({ clients: { maxConnections: 50, maxConnectionsPerAddress: 0 } }), tempDir()).clients).toMatchObject({ maxConnections: 50, maxConnectionsPerAddress: 0 });
    expect(problems(minimalConfig({ clients: { maxConnections: 0, maxConnectionsPerAddress: -1 } }))).toEqual([
      'clients.maxConnections: must be a positive whole number',
      'clients.maxConnectionsPerAddress: must be 0 or a positive whole number',
    ]);
  });

  it('takes a PROXY protocol list of trusted balancers, and refuses what is not an address or range', () => {
    const config = validateConfig(minimalConfig({ listeners: [{ protocol: 'imap', port: 1143, proxyProtocol: ['10.0.0.0/24', '192.0.2.10', '2001:db8::/32'] }] }), tempDir());
    expect(config.listeners[0]!.proxyProtocol).toEqual(['10.0.0.0/24', '192.0.2.10', '2001:db8::/32']);
    expect(problems(minimalConfig({ listeners: [{ protocol: 'imap', port: 1143, proxyProtocol: ['10.0.0.0/33', 'lb.example', '::1/129', '10.0.0.1/8/1', 7] }] }))).toEqual([
      'listeners[0].proxyProtocol[4]: must be a string',
      'listeners[0].proxyProtocol[0]: "10.0.0.0/33" is not an IP address or CIDR range',
      'listeners[0].proxyProtocol[1]: "lb.example" is not an IP address or CIDR range',
      'listeners[0].proxyProtocol[2]: "::1/129" is not an IP address or CIDR range',
      'listeners[0].proxyProtocol[3]: "10.0.0.1/8/1" is not an IP address or CIDR range',
    ]);
    expect(problems(minimalConfig({ listeners: [{ protocol: 'imap', port: 1143, proxyProtocol: [] }] }))).toEqual(['listeners[0].proxyProtocol: is an empty list']);
    expect(problems(minimalConfig({ listeners: [{ protocol: 'imap', port: 1143, proxyProtocol: true }] }))).toEqual(['listeners[0].proxyProtocol: must be a list or null']);
  });

  it('says how to fix a problem in the error message', () => {
    expect(() => validateConfig(minimalConfig({ accounts: { a: { passwordHash: 'x', mailbox: 'a@b.c', app: 'contoso' } } }), tempDir()))
      .toThrow(/accounts\.a\.passwordHash: .* Fix: run "o365-mail-proxy hash-password"/);
  });

  it('spots a secret ID pasted instead of the secret value', () => {
    const config = minimalConfig();
    (config.apps as any).contoso.clientSecret = '0a1b2c3d-1111-2222-3333-444455556666';
    expect(problems(config)).toEqual([expect.stringMatching(/clientSecret: looks like a GUID/)]);
  });

  it('refuses plaintext on a network address unless explicitly allowed', () => {
    expect(problems(minimalConfig({ listeners: [{ protocol: 'imap', host: '0.0.0.0', port: 1143, tls: 'none' }] })))
      .toEqual([expect.stringMatching(/^listeners\[0\]: listens on 0\.0\.0\.0 without TLS/)]);
    expect(problems(minimalConfig({ listeners: [{ protocol: 'imap', host: '0.0.0.0', port: 1143, tls: 'none', allowPlaintextOnNetwork: true }] }))).toEqual([]);
  });

  it('requires a local certificate when a listener uses TLS', () => {
    expect(problems(minimalConfig({ listeners: [{ protocol: 'pop3', port: 1995, tls: 'implicit' }] })))
      .toEqual([expect.stringMatching(/^tls: a listener uses TLS but no local certificate/)]);
  });

  it('caps upstream sessions per mailbox below Exchange\'s limits by default, and checks the shape', () => {
    const { upstream } = validateConfig(minimalConfig(), tempDir());
    expect(upstream).toMatchObject({ maxSessionsPerMailbox: { imap: 16, pop3: 16, smtp: 3 }, sessionWaitMs: 5000, maxWaitingPerMailbox: 50, throttleBackoffMs: 60_000 });
    const off = validateConfig(minimalConfig({ upstream: { maxSessionsPerMailbox: { smtp: 0 }, maxWaitingPerMailbox: 0 } }), tempDir()).upstream;
    expect(off).toMatchObject({ maxSessionsPerMailbox: { imap: 16, pop3: 16, smtp: 0 }, maxWaitingPerMailbox: 0 });
    expect(problems(minimalConfig({ upstream: { maxSessionsPerMailbox: 16, sessionWaitMs: 0 } }))).toEqual([
      'upstream.maxSessionsPerMailbox: must be an object with a number per protocol',
      'upstream.sessionWaitMs: must be a positive whole number',
    ]);
    expect(problems(minimalConfig({ upstream: { maxSessionsPerMailbox: { imap: -1, http: 2 } } }))).toEqual([
      'upstream.maxSessionsPerMailbox.http: is not a known setting',
      'upstream.maxSessionsPerMailbox.imap: must be 0 or a positive whole number',
    ]);
  });

  it('rejects two listeners on one port and duplicate usernames differing in case', () => {
    const found = problems(minimalConfig({
      listeners: [{ protocol: 'imap', port: 1143 }, { protocol: 'pop3', port: 1143 }],
      accounts: {
        Talend: { passwordHash: 'scrypt:ln=10,r=8,p=1:c2FsdA==:aGFzaA==', mailbox: 'a@b.cd', app: 'contoso' },
        talend: { passwordHash: 'scrypt:ln=10,r=8,p=1:c2FsdA==:aGFzaA==', mailbox: 'a@b.cd', app: 'contoso' },
      },
    }));
    expect(found).toEqual(expect.arrayContaining([
      expect.stringMatching(/^listeners\[1\]: 127\.0\.0\.1:1143 is already used by listeners\[0\]/),
      expect.stringMatching(/^accounts\.talend: duplicates account "Talend"/),
    ]));
  });

  it('resolves ${env:} and ${file:} references and names a missing one without its value', () => {
    const dir = tempDir({ 'secret.txt': 'from-file\n' });
    process.env.O365P_TEST_SECRET = 'from-env';
    const config = minimalConfig();
    (config.apps as any).contoso.clientSecret = '${env:O365P_TEST_SECRET}';
    const fromEnv = validateConfig(config, dir).apps.get('contoso')!.credential;
    expect(fromEnv.kind === 'secret' && fromEnv.clientSecret.reveal()).toBe('from-env');

    (config.apps as any).contoso.clientSecret = '${file:secret.txt}';
    const fromFile = validateConfig(config, dir).apps.get('contoso')!.credential;
    expect(fromFile.kind === 'secret' && fromFile.clientSecret.reveal()).toBe('from-file');

    (config.apps as any).contoso.clientSecret = '${env:O365P_NOT_SET}';
    expect(problems(config, dir)).toEqual(['apps.contoso.clientSecret: environment variable O365P_NOT_SET is not set']);
  });

  it('computes the SHA-256 thumbprint of a certificate credential', async () => {
    const { certPem, keyPem } = await generateSelfSignedCertificate(['app.contoso.com']);
    const dir = tempDir({ 'app.crt': certPem, 'app.key': keyPem });
    const config = minimalConfig();
    (config.apps as any).contoso = { tenantId: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', certificate: { keyFile: 'app.key', certFile: 'app.crt' } };
    const credential = validateConfig(config, dir).apps.get('contoso')!.credential;
    expect(credential.kind).toBe('certificate');
    if (credential.kind === 'certificate') expect(credential.thumbprintSha256).toMatch(/^[0-9A-F]{64}$/);
  });

  it('never puts a secret into a config error, even in broken JSON', () => {
    const dir = tempDir({ 'config.json': '{"apps": {"x": {"clientSecret": "TOPSECRET-VALUE" oops}}}' });
    try {
      loadConfig(join(dir, 'config.json'));
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toMatch(/is not valid JSON \(line 1, column \d+\)/);
      expect((error as Error).message).not.toContain('TOPSECRET');
    }
  });

  it('takes every default from the schema', () => {
    const config = validateConfig(minimalConfig(), tempDir());
    expect(config.tokens).toEqual({ requestTimeoutMs: 15_000, minRemainingSeconds: 1800 });
    expect(config.clients).toEqual({
      idleTimeoutMs: 600_000, maxFailedLogins: 10, failedLoginWindowMs: 300_000, maxLoginAttemptsPerConnection: 3,
      failedLoginDelayMs: 1000, maxQueuedPasswordChecks: 64, maxConnections: 4000, maxConnectionsPerAddress: 1000,
    });
    expect(config.log).toEqual({ level: 'info', format: 'auto' });
    expect(config.upstream).toEqual({
      imap: { host: 'outlook.office365.com', port: 993 }, pop3: { host: 'outlook.office365.com', port: 995 }, smtp: { host: 'smtp.office365.com', port: 587 },
      connectTimeoutMs: 10_000, tlsTimeoutMs: 10_000, loginTimeoutMs: 20_000, maxSessionsPerMailbox: { imap: 16, pop3: 16, smtp: 3 },
      sessionWaitMs: 5000, maxWaitingPerMailbox: 50, throttleBackoffMs: 60_000,
      graph: { url: 'https://graph.microsoft.com', maxMessageBytes: 36_700_160, requestTimeoutMs: 60_000, sendTimeoutMs: 120_000 },
    });
    expect(validateConfig(minimalConfig({ admin: { port: 9090 } }), tempDir()).admin).toEqual({ host: '127.0.0.1', port: 9090 });
  });

  it('says for a wrong shape what is expected, with the schema\'s example or allowed values', () => {
    const config = minimalConfig({ log: { level: 'verbose', formt: 'json' }, clients: { idleTimeoutMs: '600000' } });
    (config.accounts as any).talend.mailbox = undefined;
    (config.accounts as any)['ta lend'] = (config.accounts as any).talend;
    (config.apps as any).contoso.certificate = { keyFile: 'app.key', certFile: 'app.crt' };
    expect(fullProblems(config)).toEqual(expect.arrayContaining([
      { key: 'log.level', problem: '"verbose" is not allowed', fix: 'use one of: fatal, error, warn, info, debug, trace, silent' },
      { key: 'log.formt', problem: 'is not a known setting', fix: 'rename it to "format" or remove it (valid keys: level, format)' },
      { key: 'clients.idleTimeoutMs', problem: 'must be a whole number', fix: 'use e.g. 600000' },
      { key: 'accounts.talend.mailbox', problem: 'is missing', fix: 'add it: the email address of the Exchange mailbox this login opens (e.g. "invoices@contoso.com")' },
      { key: 'accounts.ta lend', problem: 'username must not be empty or contain spaces or control characters', fix: 'rename it' },
      { key: 'apps.contoso', problem: 'has both clientSecret and certificate', fix: 'keep one of them' },
    ]));
    (config.apps as any).contoso = { tenantId: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555' };
    expect(fullProblems(config)).toContainEqual({
      key: 'apps.contoso',
      problem: 'has neither clientSecret nor certificate, which accounts.talend, accounts.ta lend (auth "app") need',
      fix: 'add one of them: "clientSecret": "${env:CONTOSO_CLIENT_SECRET}" or "certificate": {"keyFile": "app.key", "certFile": "app.crt"}; or set "auth": "delegated" on those accounts',
    });
  });

  it('reports a key the schema refused once, in the schema\'s words', () => {
    const config = minimalConfig();
    (config.accounts as any).talend.mailbox = '';
    expect(problems(config)).toEqual(['accounts.talend.mailbox: must not be empty']);
  });

  it('names a mistyped key without echoing its value, which may be a secret', () => {
    const config = minimalConfig();
    (config.apps as any).contoso.clientSecert = 'TOPSECRET-VALUE';
    expect(() => validateConfig(config, tempDir())).toThrow(/apps\.contoso\.clientSecert: is not a known setting\. Fix: rename it to "clientSecret"/);
    expect(() => validateConfig(config, tempDir())).not.toThrow(/TOPSECRET/);
  });

  it('refuses config.example.json until its placeholders are replaced, naming exactly those', () => {
    process.env.CONTOSO_CLIENT_SECRET = 'example~secret';
    const example = readJson('config.example.json');
    // The example's certificate paths point at files a user makes with gen-cert.
    delete example.tls;
    example.listeners = example.listeners.map((l: Record<string, unknown>) => ({ ...l, tls: 'none' }));
    const found = fullProblems(example) as { key: string; problem: string; fix: string }[];
    expect(found.map((p) => `${p.key}: ${p.problem}`)).toEqual([
      'apps.contoso.tenantId: is the placeholder from config.example.json',
      'apps.contoso.clientId: is the placeholder from config.example.json',
      'accounts.talend.passwordHash: is the placeholder from config.example.json',
      'accounts.scanner.passwordHash: is the placeholder from config.example.json',
    ]);
    expect(found.every((p) => p.fix.startsWith('replace the placeholder with'))).toBe(true);
    // With its placeholders replaced, the example is a valid config.
    example.apps.contoso.tenantId = 'contoso.onmicrosoft.com';
    example.apps.contoso.clientId = '3f2a9c4e-8b1d-4e7f-a6c5-0d9e8f7a6b5c';
    for (const account of Object.values(example.accounts) as { passwordHash: string }[]) account.passwordHash = 'scrypt:ln=10,r=8,p=1:c2FsdA==:aGFzaA==';
    expect(problems(example)).toEqual([]);
  });

  it('takes a tenant ID only as a GUID or a domain name, and never a placeholder', () => {
    const withTenant = (tenantId: string) => {
      const config = minimalConfig();
      (config.apps as any).contoso.tenantId = tenantId;
      return problems(config);
    };
    for (const good of ['contoso.onmicrosoft.com', 'contoso.com', '72F988BF-86f1-41af-91ab-2d7cd011db47']) expect(withTenant(good)).toEqual([]);
    expect(withTenant('x')).toEqual(['apps.contoso.tenantId: "x" is neither a GUID nor a domain name']);
    expect(withTenant('not a guid!')).toEqual(['apps.contoso.tenantId: "not a guid!" is neither a GUID nor a domain name']);
    expect(withTenant('72f988bf-86f1-41af-91ab-2d7cd011db4')).toEqual([
      'apps.contoso.tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db4" is not a GUID: a tenant ID has 36 characters, hex digits grouped 8-4-4-4-12 (this one has 35)',
    ]);
    expect(withTenant('00000000-0000-0000-0000-000000000000')).toEqual(['apps.contoso.tenantId: is the placeholder from config.example.json']);
    expect(withTenant('organizations')).toEqual(['apps.contoso.tenantId: "organizations" does not work with the client-credentials flow']);
    expect(fullProblems(minimalConfig({ apps: { contoso: { tenantId: 'x', clientId: '11111111-1111-1111-1111-111111111111', clientSecret: 's~1' } } }))).toEqual([
      { key: 'apps.contoso.tenantId', problem: '"x" is neither a GUID nor a domain name', fix: expect.stringMatching(/^copy the Directory \(tenant\) ID, a GUID like .* or use the tenant's domain such as contoso\.onmicrosoft\.com$/) },
      { key: 'apps.contoso.clientId', problem: 'is the placeholder from config.example.json', fix: 'replace the placeholder with your Application (client) ID, from the app registration\'s Overview page' },
    ]);
  });

  it('refuses PowerShell\'s "$env:NAME" and the shell\'s "${NAME}", which would be taken as the secret itself', () => {
    const config = minimalConfig();
    (config.apps as any).contoso.clientSecret = '$env:CONTOSO_CLIENT_SECRET';
    expect(fullProblems(config)).toEqual([{
      key: 'apps.contoso.clientSecret',
      problem: '"$env:CONTOSO_CLIENT_SECRET" would be taken as literal text (that is PowerShell\'s spelling)',
      fix: 'write "${env:CONTOSO_CLIENT_SECRET}" to use the environment variable CONTOSO_CLIENT_SECRET',
    }]);
    // Inside a longer string too, and only the variable is echoed, not the rest of the value.
    (config.apps as any).contoso.clientSecret = 'TOPSECRET$env:X';
    expect(() => validateConfig(config, tempDir())).toThrow(/"\$env:X" would be taken as literal text/);
    expect(() => validateConfig(config, tempDir())).not.toThrow(/TOPSECRET/);
    (config.apps as any).contoso.clientSecret = '${CONTOSO_CLIENT_SECRET}';
    expect(problems(config)).toEqual(['apps.contoso.clientSecret: "${CONTOSO_CLIENT_SECRET}" would be taken as literal text (that is the shell\'s spelling)']);
  });

  it('tells an empty environment variable from one that is not set', () => {
    const config = minimalConfig();
    (config.apps as any).contoso.clientSecret = '${env:O365P_EMPTY_SECRET}';
    process.env.O365P_EMPTY_SECRET = '';
    expect(fullProblems(config)).toEqual([{ key: 'apps.contoso.clientSecret', problem: 'environment variable O365P_EMPTY_SECRET is empty', fix: 'give O365P_EMPTY_SECRET its value before starting the proxy (it is set, but to nothing)' }]);
    delete process.env.O365P_EMPTY_SECRET;
    expect(problems(config)).toEqual(['apps.contoso.clientSecret: environment variable O365P_EMPTY_SECRET is not set']);
  });

  it('refuses listeners on overlapping addresses with one port, and an admin port a listener has, before binding', () => {
    const listeners = (...hosts: string[]) => problems(minimalConfig({ listeners: hosts.map((host) => ({ protocol: 'imap', host, port: 1143, tls: 'starttls' })), tls: null }))
      .filter((p) => !p.startsWith('tls'));
    expect(listeners('0.0.0.0', '127.0.0.1')).toEqual([
      'listeners[1]: 127.0.0.1:1143 overlaps 0.0.0.0:1143 of listeners[0]: a wildcard address takes the port on every address, so the second could not listen (EADDRINUSE)',
    ]);
    expect(listeners('127.0.0.1', '::')).toEqual([expect.stringMatching(/^listeners\[1\]: \[::\]:1143 overlaps 127\.0\.0\.1:1143 of listeners\[0\]/)]);
    expect(listeners('::1', '0:0::1')).toEqual([expect.stringMatching(/^listeners\[1\]: \[0:0::1\]:1143 is already used by listeners\[0\]/)]);
    expect(listeners('localhost', '127.0.0.1')).toEqual([expect.stringMatching(/^listeners\[1\]: 127\.0\.0\.1:1143 overlaps localhost:1143 of listeners\[0\]: both name the loopback address/)]);
    // Distinct addresses share a port without trouble.
    expect(listeners('127.0.0.1', '127.0.0.2', '::1')).toEqual([]);
    expect(listeners('0.0.0.0', '::1')).toEqual([]);

    const withAdmin = (admin: Record<string, unknown>) => fullProblems(minimalConfig({ admin }));
    expect(withAdmin({ port: 1143 })).toEqual([{ key: 'admin.port', problem: '127.0.0.1:1143 is already used by listeners[0] (imap)', fix: 'give the admin listener a port of its own, e.g. 9090' }]);
    expect(withAdmin({ host: '0.0.0.0', port: 1143 })).toEqual([expect.objectContaining({ key: 'admin.port', problem: expect.stringMatching(/^0\.0\.0\.0:1143 overlaps 127\.0\.0\.1:1143 of listeners\[0\] \(imap\)/) })]);
    expect(withAdmin({ port: 9090 })).toEqual([]);
    expect(withAdmin({ host: '127.0.0.2', port: 1143 })).toEqual([]);
  });

  it('says what clients.maxFailedLogins takes: 0 turns the lockout off, the default is 10', () => {
    expect(fullProblems(minimalConfig({ clients: { maxFailedLogins: -1 } }))).toEqual([{ key: 'clients.maxFailedLogins', problem: 'must be 0 or a positive whole number', fix: 'use e.g. 10' }]);
    expect(validateConfig(minimalConfig({ clients: { maxFailedLogins: 0 } }), tempDir()).clients.maxFailedLogins).toBe(0);
  });

  it('has every key of config.example.json explained in the README\'s configuration table', () => {
    const missing = leafKeys(readJson('config.example.json')).filter((key) => !readmeKeys().has(key));
    expect(missing).toEqual([]);
  });

  it('checks against a JSON Schema that accepts the example and knows exactly the README\'s keys', () => {
    const schema = readJson('config.schema.json');
    expect(checkShape(readJson('config.example.json'))).toEqual([]);
    expect(checkShape({ ...readJson('config.example.json'), listners: [] })).toEqual([
      { key: 'listners', problem: 'is not a known setting', fix: expect.stringMatching(/^rename it to "listeners" or remove it \(valid keys: \$schema, cloud, apps, /) },
    ]);
    const described = schemaKeys(schema);
    const documented = readmeKeys();
    // Every setting (leaf) of the schema is documented, and everything documented is in the schema.
    expect([...described.leaves].filter((key) => !documented.has(key))).toEqual([]);
    expect([...documented].filter((key) => !described.all.has(key))).toEqual([]);
  });
});

function readJson(file: string): any {
  return JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'));
}

function readmeKeys(): Set<string> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  return documentedKeys(readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 5)));
}

/** The key paths a schema describes, in the README's notation: all of them, and the settings (leaves). */
function schemaKeys(schema: any): { all: Set<string>; leaves: Set<string> } {
  const all = new Set<string>();
  const leaves = new Set<string>();
  const walk = (node: any, path: string) => {
    const resolved = node.$ref ? schema.definitions[node.$ref.split('/').at(-1)] : node;
    if (path) all.add(path);
    const children: [string, any][] = Object.entries(resolved.properties ?? {}).map(([name, child]) => [path ? `${path}.${name}` : name, child]);
    if (typeof resolved.additionalProperties === 'object') children.push([`${path}.${path === 'apps' ? '<name>' : '<username>'}`, resolved.additionalProperties]);
    if (resolved.items?.properties) children.push([`${path}[]`, resolved.items]);
    if (children.length === 0 && path) leaves.add(path);
    for (const [key, child] of children) walk(child, key);
  };
  walk(schema, '');
  return { all, leaves };
}

/** Key paths of a config, in the README's notation: apps.<name>.x, listeners[].x. */
function leafKeys(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return [...new Set(value.flatMap((item) => leafKeys(item, `${path}[]`)))];
  if (value === null || typeof value !== 'object') return [path];
  return Object.entries(value).flatMap(([key, child]) => {
    const name = path === 'apps' ? '<name>' : path === 'accounts' ? '<username>' : key;
    // Lists of plain values (protocols) are one setting.
    return Array.isArray(child) && child.every((item) => typeof item !== 'object') ? [`${path ? `${path}.` : ''}${name}`] : leafKeys(child, path ? `${path}.${name}` : name);
  });
}

/** Keys named in the first column of the table: `a.b.c` / `.d` stands for a.b.c and a.b.d. */
function documentedKeys(section: string): Set<string> {
  const keys = new Set<string>();
  for (const row of section.split('\n').filter((line) => line.startsWith('| `'))) {
    let full = '';
    for (const [, name] of row.split('|')[1]!.matchAll(/`([^`]+)`/g)) {
      if (!name!.startsWith('.')) full = name!;
      keys.add(name!.startsWith('.') ? full.replace(/\.[^.]+$/, name!) : name!);
    }
  }
  return keys;
}
