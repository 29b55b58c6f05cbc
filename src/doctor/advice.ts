import type { Protocol } from '../config/types.js';
import { REQUIRED_ROLE } from '../tokens/claims.js';

/**
 * What people must be told when the Azure or Exchange side is wrong: plain causes and the
 * exact fixes, with their own IDs filled in. Pure text.
 */

const PORTAL_APP = 'Entra admin center → Identity → Applications → App registrations → your app';

/** AADSTS codes met with the client-credentials flow: cause in plain words and the fix. */
export const AADSTS_ADVICE: Record<string, { cause: string; fix: string[] }> = {
  '7000215': {
    cause: 'the client secret is wrong: usually the secret\'s ID was copied instead of its value',
    fix: [`${PORTAL_APP} → Certificates & secrets → New client secret`, 'copy the Value column (shown only once), not the Secret ID, into clientSecret'],
  },
  '7000222': { cause: 'the client secret has expired', fix: [`${PORTAL_APP} → Certificates & secrets → New client secret, and replace clientSecret`] },
  '700016': {
    cause: 'no application with this client ID exists in this tenant',
    fix: ['copy the Application (client) ID and the Directory (tenant) ID from the app\'s Overview page into clientId and tenantId'],
  },
  '90002': { cause: 'the tenant does not exist (or is in another cloud)', fix: ['check tenantId (Directory (tenant) ID) and the "cloud" setting'] },
  '900023': { cause: 'the tenant ID is not valid', fix: ['use the Directory (tenant) ID GUID or the tenant\'s domain name'] },
  '700027': { cause: 'Entra does not accept the client certificate', fix: [`${PORTAL_APP} → Certificates & secrets → Certificates: upload the certificate in certificate.certFile`] },
  '7000112': { cause: 'the application is disabled', fix: ['Entra admin center → Enterprise applications → your app → Properties → Enabled for users to sign-in: Yes'] },
  '1002012': { cause: 'the scope is not valid for the client-credentials flow', fix: ['remove "scope" from the app\'s config, or use https://outlook.office365.com/.default'] },
  '500011': { cause: 'Office 365 Exchange Online is not available in this tenant', fix: ['check that the tenant has Exchange Online licences, and the "cloud" setting'] },
};

export function roleFix(protocol: Protocol): string[] {
  return [
    `${PORTAL_APP} → API permissions → Add a permission → APIs my organization uses → Office 365 Exchange Online → Application permissions → ${REQUIRED_ROLE[protocol]}`,
    'then press "Grant admin consent for <tenant>" (without consent the token carries no roles)',
  ];
}

export interface ServicePrincipalIds {
  appid: string;
  oid: string;
  mailbox: string;
}

const ID_NOTE = 'The ID is the object ID of the Enterprise application (service principal), not the one on the App registration page; the proxy read it from the token\'s oid claim.';

export function registerServicePrincipal(ids: ServicePrincipalIds): string[] {
  return [
    'Connect-ExchangeOnline',
    `New-ServicePrincipal -AppId ${ids.appid} -ObjectId ${ids.oid} -DisplayName "o365-mail-proxy"`,
    '(ExchangeOnlineManagement versions before 3.x name -ObjectId "-ServiceId")',
    `Add-MailboxPermission -Identity ${ids.mailbox} -User ${ids.oid} -AccessRights FullAccess`,
    ID_NOTE,
  ];
}

export function grantMailbox(ids: ServicePrincipalIds): string[] {
  return ['Connect-ExchangeOnline', `Add-MailboxPermission -Identity ${ids.mailbox} -User ${ids.oid} -AccessRights FullAccess`, ID_NOTE];
}

export function enableSmtpAuth(mailbox: string): string[] {
  return [
    'Connect-ExchangeOnline',
    `Set-CASMailbox -Identity ${mailbox} -SmtpClientAuthenticationDisabled $false`,
    'if SMTP AUTH is off for the whole tenant: Set-TransportConfig -SmtpClientAuthenticationDisabled $false',
  ];
}
