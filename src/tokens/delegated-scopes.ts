import type { AppConfig, Protocol } from '../config/types.js';

/** The delegated permission on Office 365 Exchange Online each protocol needs. */
export const DELEGATED_PERMISSION = { imap: 'IMAP.AccessAsUser.All', pop3: 'POP.AccessAsUser.All', smtp: 'SMTP.Send' } as const;

/**
 * The scopes a person's sign-in asks for: the account's protocols on the mail resource (the
 * app's scope without "/.default"), and offline_access for the refresh token. Personal
 * Microsoft accounts (the "consumers" authority) take the short names, which Entra ID resolves.
 */
export function delegatedScopes(app: AppConfig, protocols: readonly Protocol[]): string[] {
  const resource = app.scope.replace(/\/\.default$/, '');
  const personal = app.tenantId === 'consumers';
  const permissions = [...new Set(protocols)].map((p) => DELEGATED_PERMISSION[p]);
  return [...permissions.map((name) => (personal ? name : `${resource}/${name}`)), 'offline_access'];
}

/** The authority a sign-in goes to: the tenant, or organizations/consumers/common. */
export function authorityOf(app: AppConfig): string {
  return `${app.authorityHost}/${app.tenantId}`;
}
