import type { Protocol } from '../config/types.js';
import { REQUIRED_ROLE } from './claims.js';
import { DELEGATED_PERMISSION } from './delegated-scopes.js';

/**
 * What people must be told when the Entra ID or Exchange side of the app registration is wrong,
 * in one place: the short reason a mail client gets, the one-line hint in the log, and the
 * doctor's cause and exact fixes (with their own IDs filled in). Pure text.
 */

const PORTAL_APP = 'Entra admin center → Identity → Applications → App registrations → your app';

interface AadstsEntry {
  /** Short, for the mail client's answer, e.g. "invalid client secret". */
  reason: string;
  /** For the doctor, where there is more to say: the cause in plain words, and the fix. */
  advice?: { cause: string; fix: string[] };
}

/** AADSTS codes people meet with the client-credentials flow, and with a person's stored sign-in. */
const AADSTS: Record<string, AadstsEntry> = {
  '7000215': {
    reason: 'invalid client secret',
    advice: {
      cause: 'the client secret is wrong: usually the secret\'s ID was copied instead of its value',
      fix: [`${PORTAL_APP} → Certificates & secrets → New client secret`, 'copy the Value column (shown only once), not the Secret ID, into clientSecret'],
    },
  },
  '7000222': {
    reason: 'client secret expired',
    advice: { cause: 'the client secret has expired', fix: [`${PORTAL_APP} → Certificates & secrets → New client secret, and replace clientSecret`] },
  },
  '700016': {
    reason: 'application not found in the tenant',
    advice: {
      cause: 'no application with this client ID exists in this tenant',
      fix: ['copy the Application (client) ID and the Directory (tenant) ID from the app\'s Overview page into clientId and tenantId'],
    },
  },
  '90002': {
    reason: 'tenant not found',
    advice: { cause: 'the tenant does not exist (or is in another cloud)', fix: ['check tenantId (Directory (tenant) ID) and the "cloud" setting'] },
  },
  '900023': {
    reason: 'tenant ID is not valid',
    advice: { cause: 'the tenant ID is not valid', fix: ['use the Directory (tenant) ID GUID or the tenant\'s domain name'] },
  },
  '700027': {
    reason: 'client certificate not accepted',
    advice: { cause: 'Entra does not accept the client certificate', fix: [`${PORTAL_APP} → Certificates & secrets → Certificates: upload the certificate in certificate.certFile`] },
  },
  '700024': { reason: 'client assertion not valid at this time (check the clock)' },
  '1002012': {
    reason: 'invalid scope',
    advice: { cause: 'the scope is not valid for the client-credentials flow', fix: ['remove "scope" from the app\'s config, or use https://outlook.office365.com/.default'] },
  },
  '70011': { reason: 'invalid scope' },
  '7000112': {
    reason: 'application is disabled',
    advice: { cause: 'the application is disabled', fix: ['Entra admin center → Enterprise applications → your app → Properties → Enabled for users to sign-in: Yes'] },
  },
  '500011': {
    reason: 'Exchange Online is not available in the tenant',
    advice: { cause: 'Office 365 Exchange Online is not available in this tenant', fix: ['check that the tenant has Exchange Online licences, and the "cloud" setting'] },
  },
  '50126': { reason: 'invalid credentials' },
  // A person's sign-in (delegated accounts): each of these needs `o365-mail-proxy login <account>`
  // once the cause is dealt with.
  '70008': {
    reason: 'the sign-in has expired',
    advice: { cause: 'the stored refresh token expired or was not used for too long', fix: ['sign in again'] },
  },
  '700082': {
    reason: 'the sign-in expired after 90 days without use',
    advice: { cause: 'the refresh token was not used for 90 days', fix: ['sign in again; with tokenStore.key set the proxy renews it in the background, so it does not lapse'] },
  },
  '50173': {
    reason: 'the sign-in was revoked (password changed or sessions revoked)',
    advice: { cause: 'the user\'s password changed or an administrator revoked the sign-in sessions', fix: ['sign in again'] },
  },
  '50076': {
    reason: 'multi-factor authentication is now required',
    advice: { cause: 'a policy now requires multi-factor authentication for this user', fix: ['sign in again and complete the second factor in the browser'] },
  },
  '50079': {
    reason: 'multi-factor authentication registration is required',
    advice: { cause: 'the user must register for multi-factor authentication', fix: ['register at https://aka.ms/mfasetup, then sign in again'] },
  },
  '53003': {
    reason: 'blocked by Conditional Access',
    advice: { cause: 'a Conditional Access policy blocks this sign-in (location, device or app)', fix: ['ask the tenant\'s administrator which policy applies (Entra admin center → Sign-in logs)', 'then sign in again'] },
  },
  '65001': {
    reason: 'consent for the app is missing or was withdrawn',
    advice: { cause: 'the user (or an administrator) has not consented to the app\'s delegated permissions, or withdrew consent', fix: [`${PORTAL_APP} → API permissions: IMAP.AccessAsUser.All, POP.AccessAsUser.All, SMTP.Send (Office 365 Exchange Online) and offline_access`, 'sign in again and accept the permissions (or have an administrator grant consent)'] },
  },
  '7000218': {
    reason: 'the app does not allow public client flows',
    advice: { cause: 'the app registration does not allow public client flows (device code, no client secret)', fix: [`${PORTAL_APP} → Authentication → Advanced settings → Allow public client flows: Yes`, 'then sign in again'] },
  },
};


/** The short reason for an AADSTS code, if it is one people meet. */
export function aadstsReason(code: string): string | undefined {
  return AADSTS[code]?.reason;
}

/** The doctor's cause and fix for an AADSTS code, where there is one. */
export function aadstsAdvice(code: string): { cause: string; fix: string[] } | undefined {
  return AADSTS[code]?.advice;
}

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

/** One-line hints for the log; `o365-mail-proxy doctor` gives the full steps. */
export const LOG_HINTS = {
  roleMissing: (protocol: Protocol) => `the access token lacks ${REQUIRED_ROLE[protocol]}: add it under API permissions → Office 365 Exchange Online and grant admin consent`,
  tokenRejected: (protocol: Protocol, mailbox: string) => `check that the app has ${REQUIRED_ROLE[protocol]} with admin consent, that its service principal is registered in Exchange (New-ServicePrincipal) and has FullAccess on ${mailbox}`,
  noMailboxAccess: (mailbox: string) => `the service principal has no access to ${mailbox}: Add-MailboxPermission -AccessRights FullAccess`,
  delegatedTokenRejected: (protocol: Protocol, mailbox: string) => `the signed-in user's token was refused for ${mailbox}: check that the sign-in was granted ${DELEGATED_PERMISSION[protocol]} and that the user may open ${mailbox}`,
  signInAgain: (account: string) => `run "o365-mail-proxy login ${account}" to sign in again`,
};
