import type { AppConfig, Protocol } from '../config/types.js';

/** The delegated permission on Office 365 Exchange Online each protocol needs. */
export const DELEGATED_PERMISSION = { imap: 'IMAP.AccessAsUser.All', pop3: 'POP.AccessAsUser.All', smtp: 'SMTP.Send' } as const;

/**
 * The scopes a person's sign-in asks for: the account's protocols on the mail resource, always
 * in the long form (a bare "IMAP.AccessAsUser.All" is resolved to Microsoft Graph, whose token
 * Exchange refuses), and offline_access for the refresh token. The resource is the app's scope
 * without "/.default" (the cloud's mail host); personal Microsoft accounts (the "consumers"
 * authority) use the one Microsoft documents, https://outlook.office.com.
 */
export function delegatedScopes(app: AppConfig, protocols: readonly Protocol[]): string[] {
  const resource = app.tenantId === 'consumers' ? 'https://outlook.office.com' : app.scope.replace(/\/\.default$/, '');
  const permissions = [...new Set(protocols)].map((p) => DELEGATED_PERMISSION[p]);
  return [...permissions.map((name) => `${resource}/${name}`), 'offline_access'];
}

/** The authority a sign-in goes to: the tenant, or organizations/consumers/common. */
export function authorityOf(app: AppConfig): string {
  return `${app.authorityHost}/${app.tenantId}`;
}
