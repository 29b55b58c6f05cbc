// The device authorization endpoint (POST /{tenant}/oauth2/v2.0/devicecode) and the test's
// side of it: playing the person who opens the verification URL and enters the code.
import type { Directory } from '../directory.js';
import { entraError, missingParameter, tenantNotFound } from './errors.js';
import { parseScopes } from './scopes.js';
import type { SignIns } from './sign-ins.js';

/** What Entra hands out as `verification_uri`; the person opens it in any browser. */
export const VERIFICATION_URI = 'https://microsoft.com/devicelogin';

export interface DeviceCodeContext {
  directory: Directory;
  signIns: SignIns;
  lifetimeSeconds: number;
  intervalSeconds: number;
}

export function answerDeviceCodeRequest(ctx: DeviceCodeContext, tenant: string, form: URLSearchParams, correlationId: string): { status: number; body: Record<string, unknown> } {
  if (!ctx.directory.acceptsSignIn(tenant)) return tenantNotFound(tenant, 'invalid_request', correlationId);
  const clientId = form.get('client_id');
  if (!clientId) return missingParameter('client_id', correlationId);
  const app = ctx.directory.find(clientId);
  if (!app) {
    return entraError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${ctx.directory.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`, correlationId);
  }
  const scope = form.get('scope');
  if (!scope) return missingParameter('scope', correlationId);
  const parsed = parseScopes(scope, correlationId);
  if ('status' in parsed) return parsed;
  const state = ctx.signIns.newDeviceCode(app.clientId, scope, ctx.lifetimeSeconds, ctx.intervalSeconds);
  return {
    status: 200,
    body: {
      user_code: state.userCode,
      device_code: state.deviceCode,
      verification_uri: VERIFICATION_URI,
      expires_in: ctx.lifetimeSeconds,
      interval: ctx.intervalSeconds,
      message: `To sign in, use a web browser to open the page ${VERIFICATION_URI} and enter the code ${state.userCode} to authenticate.`,
    },
  };
}

/** The person's answer at the verification URL; throws (for the test) when there is nothing to answer. */
export function answerDeviceCode(ctx: DeviceCodeContext, userCode: string, answer: { approveAs: string } | 'decline' | 'expire'): void {
  const state = ctx.signIns.byUserCode(userCode);
  if (!state) throw new Error(`sandbox: no device code with user code ${userCode}`);
  if (answer === 'expire') {
    state.expiresAt = Date.now();
    return;
  }
  if (state.status !== 'pending' || state.expiresAt <= Date.now()) throw new Error(`sandbox: device code ${userCode} is ${state.status === 'pending' ? 'expired' : state.status}`);
  if (answer === 'decline') {
    state.status = 'declined';
    return;
  }
  const user = ctx.directory.user(answer.approveAs);
  if (!user) throw new Error(`sandbox: no user ${answer.approveAs}; call addUser first`);
  state.userObjectId = user.objectId;
  state.status = 'approved';
}
