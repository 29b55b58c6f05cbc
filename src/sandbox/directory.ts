// The Entra side of the sandbox's state: one tenant, its app registrations and its users.
// Apps and users are kept by reference, so a test may flip `roles`, `allowPublicClient`,
// `delegatedScopes` or a user's `failure` on the object it got back and the sandbox sees it
// on the next token request or login.
import { randomClientSecret, randomGuid } from './ids.js';
import type { SandboxApp, SandboxUser } from './types.js';

export const EXCHANGE_ROLES = ['IMAP.AccessAsApp', 'POP.AccessAsApp', 'SMTP.SendAsApp'];
/** The delegated permissions of Office 365 Exchange Online a mail client needs. */
export const DELEGATED_SCOPES = ['IMAP.AccessAsUser.All', 'POP.AccessAsUser.All', 'SMTP.Send'];
const LOOPBACK_REDIRECTS = ['http://localhost', 'http://127.0.0.1'];
export const MULTI_TENANT = new Set(['organizations', 'common']);
/** See SandboxApp.graphRoles for why only Mail.Send. */
export const DEFAULT_GRAPH_ROLES = ['Mail.Send'];

export class Directory {
  readonly #apps = new Map<string, SandboxApp>();
  readonly #users = new Map<string, SandboxUser>();
  /** Bumped by revokeSignIns: refresh tokens remember the value they were issued under. */
  readonly #signInGeneration = new Map<string, number>();

  constructor(readonly tenantId: string) {}

  register(input: Partial<SandboxApp>): SandboxApp {
    const app: SandboxApp = {
      ...input,
      clientId: input.clientId ?? randomGuid(),
      objectId: input.objectId ?? randomGuid(),
      roles: [...(input.roles ?? EXCHANGE_ROLES)],
      graphRoles: [...(input.graphRoles ?? DEFAULT_GRAPH_ROLES)],
      servicePrincipalRegistered: input.servicePrincipalRegistered ?? true,
      allowPublicClient: input.allowPublicClient ?? false,
      delegatedScopes: [...(input.delegatedScopes ?? DELEGATED_SCOPES)],
      redirectUris: [...(input.redirectUris ?? LOOPBACK_REDIRECTS)],
    };
    // A secret unless the caller said otherwise (an explicit `clientSecret: undefined` makes a
    // certificate-only app or a public client).
    if (!('clientSecret' in input)) app.clientSecret = randomClientSecret();
    this.#apps.set(app.clientId.toLowerCase(), app);
    return app;
  }

  find(clientId: string): SandboxApp | undefined {
    return this.#apps.get(clientId.toLowerCase());
  }

  addUser(upn: string, options: { displayName?: string; objectId?: string } = {}): SandboxUser {
    const user: SandboxUser = { upn, objectId: options.objectId ?? randomGuid(), displayName: options.displayName ?? upn.split('@')[0]! };
    this.#users.set(upn.toLowerCase(), user);
    return user;
  }

  user(upn: string): SandboxUser | undefined {
    return this.#users.get(upn.toLowerCase());
  }

  userById(objectId: string): SandboxUser | undefined {
    for (const user of this.#users.values()) if (user.objectId.toLowerCase() === objectId.toLowerCase()) return user;
    return undefined;
  }

  signInGeneration(user: SandboxUser): number {
    return this.#signInGeneration.get(user.objectId) ?? 0;
  }

  revokeSignIns(user: SandboxUser): void {
    this.#signInGeneration.set(user.objectId, this.signInGeneration(user) + 1);
  }

  /** Tenants are matched like Entra does: the GUID, case-insensitively. */
  isTenant(tenant: string): boolean {
    return tenant.toLowerCase() === this.tenantId.toLowerCase();
  }

  /**
   * The tenant, or "organizations"/"common", which delegated flows may use for a work account
   * (the sandbox has one tenant and no personal accounts, so "consumers" is not one of them).
   */
  acceptsSignIn(tenant: string): boolean {
    return this.isTenant(tenant) || MULTI_TENANT.has(tenant.toLowerCase());
  }
}
