import { afterEach, describe, expect, it } from 'vitest';
import { keepTokensWarm, type TokenWarmup } from '../../src/auth/token-warmup.js';
import { Secret } from '../../src/config/secret.js';
import { createLogger } from '../../src/ops/log.js';
import { TokenProvider } from '../../src/tokens/provider.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { freePort, logCapture } from '../helpers/net.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack | undefined;
let warmup: TokenWarmup | undefined;
let sandbox: Sandbox | undefined;
afterEach(async () => {
  warmup?.stop();
  await stack?.close();
  await sandbox?.close();
  stack = warmup = sandbox = undefined;
});

const FAST = { firstMs: 50, maxMs: 200 };
const entries = (s: Stack) => s.logs.map((line) => JSON.parse(line) as Record<string, any>);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}

describe('tokens after a failure at start', () => {
  it('are asked for again in the background until Entra answers, without a client asking', async () => {
    stack = await startStack({ logLevel: 'trace', config: { tokens: { requestTimeoutMs: 300 } } });
    // Entra hangs (a firewall that drops packets): each request ends at its deadline.
    stack.sandbox.controls.entraDelayMs = 10_000;
    warmup = keepTokensWarm(stack.proxy.context(), stack.proxy.context().log, FAST);
    await until(() => entries(stack!).filter((e) => e.event === 'token.fail').length >= 3);
    const failures = entries(stack).filter((e) => e.event === 'token.fail');
    // Said once as a warning; the retries repeat it at debug level only.
    const entra = new URL(stack.sandbox.authorityHost).host;
    expect(failures.filter((e) => e.level === 40).map((e) => e.cause)).toEqual([`no answer from ${entra} within 300 ms`]);
    expect(failures.slice(1).every((e) => e.level === 20 && e.repeated === true)).toBe(true);
    expect(entries(stack).filter((e) => e.event === 'token.retry')).toHaveLength(1);

    stack.sandbox.controls.entraDelayMs = 0;
    await until(() => entries(stack!).some((e) => e.event === 'token.ok'));
    expect(stack.proxy.activeSessions()).toBe(0);
    const requests = stack.sandbox.stats.tokenRequests;
    // Once a token is had, the retries stop.
    await sleep(400);
    expect(stack.sandbox.stats.tokenRequests).toBe(requests);
  });

  it('warn once per distinct cause while the token endpoint stays down (MSAL replays its 503)', async () => {
    stack = await startStack({ logLevel: 'trace' });
    stack.sandbox.controls.entraDown = true;
    warmup = keepTokensWarm(stack.proxy.context(), stack.proxy.context().log, FAST);
    await until(() => entries(stack!).filter((e) => e.event === 'token.fail').length >= 4);
    const failures = entries(stack).filter((e) => e.event === 'token.fail');
    expect(failures.filter((e) => e.level === 40)).toHaveLength(1);
    expect(failures[0]!.cause).toBe('temporarily_unavailable: AADSTS90033: A transient error has occurred. Please try again.');
    expect(failures.at(-1)!.cause).toBe('AADSTS90033: A transient error has occurred. Please try again. (the last answer, replayed: MSAL holds requests back after a 429 or 5xx)');
  });

  it('keep retrying an authority on a closed port, with one clean warning', async () => {
    const closed = await freePort();
    stack = await startStack({ logLevel: 'trace', config: { apps: { contoso: { authorityHost: `https://127.0.0.1:${closed}` } } } });
    warmup = keepTokensWarm(stack.proxy.context(), stack.proxy.context().log, FAST);
    await until(() => entries(stack!).filter((e) => e.event === 'token.fail').length >= 3);
    const failures = entries(stack).filter((e) => e.event === 'token.fail');
    expect(failures.map((e) => [e.level, e.cause])).toEqual(failures.map((_, i) => [i === 0 ? 40 : 20, `connect ECONNREFUSED 127.0.0.1:${closed}`]));
  });

  it('stop when told (reload, shutdown)', async () => {
    const closed = await freePort();
    stack = await startStack({ logLevel: 'trace', config: { apps: { contoso: { authorityHost: `https://127.0.0.1:${closed}` } } } });
    warmup = keepTokensWarm(stack.proxy.context(), stack.proxy.context().log, FAST);
    await until(() => entries(stack!).some((e) => e.event === 'token.fail'));
    warmup.stop();
    const count = entries(stack).filter((e) => e.event === 'token.fail').length;
    await sleep(500);
    expect(entries(stack).filter((e) => e.event === 'token.fail').length).toBe(count);
  });
});

describe('a token request that loses the network after MSAL knows the endpoints', () => {
  it('logs what the network said, once, not MSAL\'s "network_error: See …" twice', async () => {
    const port = await freePort();
    sandbox = await startSandbox({ ports: { entra: port } });
    const app = sandbox.registerApp({});
    const lines: string[] = [];
    const provider = new TokenProvider(
      { name: 'contoso', tenantId: sandbox.tenantId, clientId: app.clientId, credential: { kind: 'secret', clientSecret: new Secret(app.clientSecret!) }, authorityHost: sandbox.authorityHost, scope: 'https://outlook.office365.com/.default', graphScope: 'https://graph.microsoft.com/.default' },
      { requestTimeoutMs: 3000, minRemainingSeconds: 1800, ca: sandbox.caPem, log: createLogger({ level: 'info', format: 'json', destination: logCapture(lines) }) },
    );
    const first = await provider.getToken();
    await sandbox.close();
    sandbox = undefined;
    // Time for the client to see its kept-alive connection closed, as it would an idle one Entra closed.
    await sleep(100);
    // Renewing a token Exchange refused: MSAL posts to the token endpoint it already knows.
    await expect(provider.getToken(first.token)).rejects.toMatchObject({ temporary: true, detail: `connect ECONNREFUSED 127.0.0.1:${port}` });
    expect(lines.map((line) => JSON.parse(line)).find((e) => e.event === 'token.fail').cause).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });
});
