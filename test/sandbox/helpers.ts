// Test helpers for the sandbox: token requests over node:https trusting the sandbox CA, and a
// tenant with a mailbox ready to log in to. The wire client is test/helpers/wire.ts.
import { request } from 'node:https';
import { startSandbox, type Sandbox, type SandboxApp } from '../../src/sandbox/index.js';

export interface HttpAnswer {
  status: number;
  body: Record<string, any>;
}

export function httpsJson(sandbox: Sandbox, path: string, form?: Record<string, string>): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const req = request(`${sandbox.authorityHost}${path}`, {
      method: form ? 'POST' : 'GET',
      ca: sandbox.caPem,
      headers: form ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const tokenPath = (sandbox: Sandbox, tenant = sandbox.tenantId): string => `/${tenant}/oauth2/v2.0/token`;

export async function accessToken(sandbox: Sandbox, app: SandboxApp): Promise<string> {
  const answer = await httpsJson(sandbox, tokenPath(sandbox), {
    client_id: app.clientId,
    client_secret: app.clientSecret!,
    scope: 'https://outlook.office365.com/.default',
    grant_type: 'client_credentials',
  });
  if (answer.status !== 200) throw new Error(`token request failed: ${JSON.stringify(answer.body)}`);
  return answer.body.access_token as string;
}

/** A started sandbox with one app that has FullAccess on `mailbox` (holding `messages`), and a token for that app. */
export async function tenantWithMailbox(mailbox: string, messages: Buffer[] = []): Promise<{ sandbox: Sandbox; app: SandboxApp; token: string }> {
  const sandbox = await startSandbox();
  const app = sandbox.registerApp({});
  sandbox.addMailbox(mailbox, messages);
  sandbox.grantFullAccess(mailbox, app.objectId);
  return { sandbox, app, token: await accessToken(sandbox, app) };
}

export const xoauth2 = (user: string, token: string): string => Buffer.from(`user=${user}\x01auth=Bearer ${token}\x01\x01`).toString('base64');

export function claimsOf(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

/** The delegated scopes a mail client asks for, in the long form Exchange needs. */
export const MAIL_SCOPES = ['https://outlook.office365.com/IMAP.AccessAsUser.All', 'https://outlook.office365.com/POP.AccessAsUser.All', 'https://outlook.office365.com/SMTP.Send'];

/** A form POST to the sandbox's Entra; like httpsJson but keeps the raw status for error answers. */
export const postForm = (sandbox: Sandbox, path: string, form: Record<string, string>): Promise<HttpAnswer> => httpsJson(sandbox, path, form);

/** A device code sign-in as `upn` over plain HTTPS (no MSAL): the token answer's body. */
export async function signInWithDeviceCode(sandbox: Sandbox, app: SandboxApp, upn: string, scope = `${MAIL_SCOPES.join(' ')} offline_access openid profile`): Promise<Record<string, any>> {
  const code = await httpsJson(sandbox, `/${sandbox.tenantId}/oauth2/v2.0/devicecode`, { client_id: app.clientId, scope });
  if (code.status !== 200) throw new Error(`device code request failed: ${JSON.stringify(code.body)}`);
  sandbox.approveDeviceCode(code.body.user_code, upn);
  const answer = await httpsJson(sandbox, tokenPath(sandbox), { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: app.clientId, device_code: code.body.device_code });
  if (answer.status !== 200) throw new Error(`device code poll failed: ${JSON.stringify(answer.body)}`);
  return answer.body;
}
