import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSelfSignedCertificate } from '../../src/ops/self-signed-certificate.js';
import { validateConfig } from '../../src/config/validate.js';
import type { Protocol } from '../../src/config/types.js';
import { createLogger } from '../../src/ops/log.js';
import { hashPassword } from '../../src/config/password-hash.js';
import { Secret } from '../../src/config/secret.js';
import { startProxy } from '../../src/listen/proxy.js';
import { keepTokensWarm } from '../../src/auth/token-warmup.js';
import { startSandbox, type Sandbox, type SandboxApp, type SandboxOptions, type SandboxUser } from '../../src/sandbox/index.js';
import { CLI } from './cli.js';
import { FAST_HASH_PARAMS, tempDir } from './config.js';
import { logCapture } from './net.js';
import { PASSWORD, sampleMessage, type Stack } from './stack.js';

/** The delegated account's local username and the person who owns its mailbox. */
export const ACCOUNT = 'me';
export const UPN = 'ada@contoso.test';
export const STORE_KEY = 'q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng=';

export interface DelegatedSetup {
  sandbox: Sandbox;
  app: SandboxApp;
  user: SandboxUser;
  dir: string;
  configFile: string;
  raw: Record<string, any>;
  /** Runs the built CLI's `login`; `approve` plays the person once the code or URL is shown. */
  login(args?: string[], options?: LoginOptions): Promise<{ status: number | null; stdout: string; stderr: string }>;
  /** Starts the proxy in this process on the config as written; `background`: renew sign-ins as `start` does. */
  startProxy(options?: { background?: boolean; logLevel?: 'info' | 'trace' }): Promise<Stack & { stopRenewals(): void }>;
  close(): Promise<void>;
}

/** A sandbox tenant with a public-client app and a user, and a config with one delegated account. */
export async function delegatedSetup(options: { sandbox?: SandboxOptions; storeKey?: boolean; mailbox?: string; tenant?: string } = {}): Promise<DelegatedSetup> {
  const sandbox = await startSandbox({ deviceCodeIntervalSeconds: 1, ...options.sandbox });
  const app = sandbox.registerApp({ clientSecret: undefined, allowPublicClient: true });
  const user = sandbox.addUser(UPN);
  sandbox.addMailbox(UPN, [sampleMessage('First'), sampleMessage('Second')]);
  const cert = await generateSelfSignedCertificate();
  const dir = tempDir({ 'local.crt': cert.certPem, 'local.key': cert.keyPem, 'sandbox-ca.pem': sandbox.caPem });
  const raw: Record<string, any> = {
    apps: { mine: { tenantId: options.tenant ?? sandbox.tenantId, clientId: app.clientId, authorityHost: sandbox.authorityHost } },
    accounts: { [ACCOUNT]: { passwordHash: await hashPassword(new Secret(PASSWORD), FAST_HASH_PARAMS), mailbox: options.mailbox ?? UPN, app: 'mine', auth: 'delegated' } },
    listeners: (['imap', 'pop3', 'smtp'] as Protocol[]).map((protocol) => ({ protocol, port: 0, tls: 'none' })),
    tls: { certFile: 'local.crt', keyFile: 'local.key' },
    upstream: { imap: sandbox.imap, pop3: sandbox.pop3, smtp: sandbox.smtp, caFile: 'sandbox-ca.pem', connectTimeoutMs: 2000, tlsTimeoutMs: 2000, loginTimeoutMs: 5000 },
    tokens: { requestTimeoutMs: 3000 },
    tokenStore: { dir: 'signins', ...(options.storeKey ? { key: '${file:store.key}' } : {}) },
  };
  writeFileSync(join(dir, 'store.key'), `${STORE_KEY}\n`);
  const configFile = join(dir, 'config.json');
  const write = () => writeFileSync(configFile, JSON.stringify(raw, null, 2));
  write();
  return {
    sandbox, app, user, dir, configFile, raw,
    login: (args = [], o = {}) => runLogin(['login', ACCOUNT, '--config', configFile, ...args], o),
    async startProxy(o = {}) {
      write();
      const config = validateConfig(raw, dir);
      const logs: string[] = [];
      const log = createLogger({ level: o.logLevel ?? 'info', format: 'json', destination: logCapture(logs) });
      const proxy = await startProxy(config, log);
      const renewals = o.background ? keepTokensWarm(proxy.context(), log) : undefined;
      return {
        sandbox, app, proxy, logs, localCa: cert.certPem, localCaFile: join(dir, 'local.crt'),
        port: (protocol: Protocol) => proxy.listeners.find((l) => l.protocol === protocol)!.port,
        stopRenewals: () => renewals?.stop(),
        async close() {
          renewals?.stop();
          await proxy.close();
        },
      };
    },
    close: () => sandbox.close(),
  };
}

export interface LoginOptions {
  stdin?: string;
  /** Plays the person once the code (or the browser's address) is shown. */
  approve?: (shown: string) => void | Promise<void>;
  env?: NodeJS.ProcessEnv;
  /** SIGKILL the command once its stderr says this. */
  killWhen?: RegExp;
}

/** The CLI as a person runs it, its output read as it comes so the test can act on the code. */
function runLogin(args: string[], options: LoginOptions): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, O365P_NO_BROWSER: '1', ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let approved = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!approved && /Waiting for the sign-in|^http\S*authorize\S*$/m.test(stdout)) {
        approved = true;
        Promise.resolve(options.approve?.(stdout)).catch(reject);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (options.killWhen?.test(stderr)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? `${PASSWORD}\n`);
  });
}

/** The user code `login` printed. */
export const userCodeIn = (stdout: string): string => /^Code: (\S+)$/m.exec(stdout)![1]!;
