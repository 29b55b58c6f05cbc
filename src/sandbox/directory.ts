// The Entra side of the sandbox's state: one tenant and its app registrations. Apps are kept
// by reference, so a test may flip `roles` or `servicePrincipalRegistered` on the object
// registerApp returned and the sandbox sees it on the next token request or login.
import { randomClientSecret, randomGuid } from './ids.js';
import type { SandboxApp } from './types.js';

export const EXCHANGE_ROLES = ['IMAP.AccessAsApp', 'POP.AccessAsApp', 'SMTP.SendAsApp'];
/** See SandboxApp.graphRoles for why only Mail.Send. */
export const DEFAULT_GRAPH_ROLES = ['Mail.Send'];

export class Directory {
  readonly #apps = new Map<string, SandboxApp>();

  constructor(readonly tenantId: string) {}

  register(input: Partial<SandboxApp>): SandboxApp {
    const app: SandboxApp = {
      ...input,
      clientId: input.clientId ?? randomGuid(),
      objectId: input.objectId ?? randomGuid(),
      roles: [...(input.roles ?? EXCHANGE_ROLES)],
      graphRoles: [...(input.graphRoles ?? DEFAULT_GRAPH_ROLES)],
      servicePrincipalRegistered: input.servicePrincipalRegistered ?? true,
    };
    // A secret unless the caller said otherwise (an explicit `clientSecret: undefined` makes a
    // certificate-only app).
    if (!('clientSecret' in input)) app.clientSecret = randomClientSecret();
    this.#apps.set(app.clientId.toLowerCase(), app);
    return app;
  }

  find(clientId: string): SandboxApp | undefined {
    return this.#apps.get(clientId.toLowerCase());
  }

  /** Tenants are matched like Entra does: the GUID, case-insensitively. */
  isTenant(tenant: string): boolean {
    return tenant.toLowerCase() === this.tenantId.toLowerCase();
  }
}
