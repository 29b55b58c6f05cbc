// Test helpers for the sandbox's Graph: a Graph token from the sandbox's Entra, and HTTPS
// requests with node:https trusting the sandbox CA (a real client; curl is used in places too).
import { request } from 'node:https';
import type { Sandbox, SandboxApp } from '../../src/sandbox/index.js';
import { httpsJson, tokenPath } from './helpers.js';

export interface GraphReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export async function graphToken(sandbox: Sandbox, app: SandboxApp, scope = `${sandbox.graphUrl}/.default`): Promise<string> {
  const answer = await httpsJson(sandbox, tokenPath(sandbox), { client_id: app.clientId, client_secret: app.clientSecret!, scope, grant_type: 'client_credentials' });
  if (answer.status !== 200) throw new Error(`token request failed: ${JSON.stringify(answer.body)}`);
  return answer.body.access_token as string;
}

export interface GraphCall {
  token?: string;
  body?: Buffer | string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** One request to `sandbox.graphUrl + path` (or to a full URL); rejects when the connection breaks. */
export function graphCall(sandbox: Sandbox, method: string, path: string, call: GraphCall = {}): Promise<GraphReply> {
  const url = path.startsWith('https://') ? path : `${sandbox.graphUrl}${path}`;
  const headers: Record<string, string> = { ...call.headers };
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  if (call.contentType) headers['content-type'] = call.contentType;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca: sandbox.caPem, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: any;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(call.body);
  });
}

/** POST sendMail with `mime` base64-encoded as text/plain, as Graph's MIME form wants it. */
export const sendMime = (sandbox: Sandbox, mailbox: string, token: string, mime: Buffer): Promise<GraphReply> =>
  graphCall(sandbox, 'POST', `/v1.0/users/${encodeURIComponent(mailbox)}/sendMail`, { token, contentType: 'text/plain', body: mime.toString('base64') });

/** POST messages: a draft from `mime`. */
export const createDraft = (sandbox: Sandbox, mailbox: string, token: string, mime: Buffer): Promise<GraphReply> =>
  graphCall(sandbox, 'POST', `/v1.0/users/${encodeURIComponent(mailbox)}/messages`, { token, contentType: 'text/plain', body: mime.toString('base64') });

export const messagePath = (mailbox: string, id: string, rest = ''): string => `/v1.0/users/${encodeURIComponent(mailbox)}/messages/${encodeURIComponent(id)}${rest}`;
