import { createServer, type Server } from 'node:http';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CryptoProvider, type AuthenticationResult } from '@azure/msal-node';
import { signInFailure, type publicClient } from './signin-flows.js';

const DONE_PAGE = '<!doctype html><meta charset="utf-8"><title>o365-mail-proxy</title><p>Signed in. You can close this window and return to the terminal.</p>\n';
const FAILED_PAGE = '<!doctype html><meta charset="utf-8"><title>o365-mail-proxy</title><p>The sign-in did not complete; the terminal says why.</p>\n';

/**
 * Authorization code with PKCE and a loopback redirect (RFC 8252): a one-shot HTTP listener on
 * 127.0.0.1 at a free port receives the code; `state` ties the answer to this request.
 * `show` gets the URL to open; a browser is started only where one is likely to exist.
 */
export async function signInWithBrowser(client: ReturnType<typeof publicClient>, scopes: string[], show: (url: string) => void): Promise<AuthenticationResult> {
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const state = randomBytes(16).toString('base64url');
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  try {
    const port = (server.address() as { port: number }).port;
    const redirectUri = `http://127.0.0.1:${port}/`;
    const url = await client.msal.getAuthCodeUrl({ scopes, redirectUri, codeChallenge: challenge, codeChallengeMethod: 'S256', state, prompt: 'select_account' });
    show(url);
    openBrowser(url);
    const code = await waitForCode(server, state, SIGN_IN_WAIT_MS);
    return await client.msal.acquireTokenByCode({ scopes, redirectUri, code, codeVerifier: verifier, state });
  } catch (error) {
    throw error instanceof LoopbackError ? new Error(error.message) : signInFailure(error, client.network);
  } finally {
    server.close();
  }
}

class LoopbackError extends Error {}

/** As long as Entra gives a device code: a person who went away is not waited for forever. */
const SIGN_IN_WAIT_MS = 15 * 60_000;

/** The first request that carries this sign-in's state; anything else (favicon) gets a 404. */
function waitForCode(server: Server, state: string, waitMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    setTimeout(() => reject(new LoopbackError(`sign-in failed: no answer from the browser within ${waitMs / 60_000} minutes`)), waitMs).unref();
    server.on('request', (req, res) => {
      const query = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams;
      if (query.get('state') !== state) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      const code = query.get('code');
      const html = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', connection: 'close' };
      if (code) {
        res.writeHead(200, html).end(DONE_PAGE);
        resolve(code);
        return;
      }
      res.writeHead(400, html).end(FAILED_PAGE);
      // Entra's own words: "error" and the first line of "error_description" (AADSTS code included).
      const description = (query.get('error_description') ?? '').split(/\r?\n/)[0];
      reject(new LoopbackError(`sign-in failed: ${query.get('error') ?? 'no code in the answer'}${description ? `: ${description}` : ''}`));
    });
  });
}

/** Starts the desktop's browser where there is a desktop; elsewhere the printed URL is the way. */
function openBrowser(url: string): void {
  if (process.env.O365P_NO_BROWSER) return;
  const [command, args] = process.platform === 'win32'
    ? ['rundll32', ['url.dll,FileProtocolHandler', url]]
    : process.platform === 'darwin'
      ? ['open', [url]]
      : process.env.DISPLAY || process.env.WAYLAND_DISPLAY ? ['xdg-open', [url]] : [undefined, []];
  if (!command) return;
  try {
    const child = spawn(command, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => {}); // no such program: the URL is printed already
    child.unref();
  } catch {
    // the URL is printed already
  }
}
