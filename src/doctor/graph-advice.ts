/**
 * What people must be told about sending through Microsoft Graph: the permissions and the
 * mailbox scoping, as the doctor's fixes (with their own IDs filled in). Pure text.
 */

const PORTAL_APP = 'Entra admin center → Identity → Applications → App registrations → your app';

/** Mail.Send lets sendMail work; Mail.ReadWrite the draft path (Bcc-only recipients, large messages). */
export function graphRoleFix(roles: readonly string[]): string[] {
  return [
    `${PORTAL_APP} → API permissions → Add a permission → Microsoft Graph → Application permissions → ${roles.join(' and ')}`,
    'then press "Grant admin consent for <tenant>" (without consent the token carries no roles)',
    'these are permissions on Microsoft Graph, not on Office 365 Exchange Online',
  ];
}

export interface GraphIds {
  appid: string;
  oid: string;
  mailbox: string;
}

/** An application access policy or an RBAC for Applications scope keeps the app from the mailbox. */
export function grantGraphMailbox(ids: GraphIds): string[] {
  return [
    'Connect-ExchangeOnline',
    `Test-ApplicationAccessPolicy -Identity ${ids.mailbox} -AppId ${ids.appid}`,
    `Get-ApplicationAccessPolicy | Where-Object AppId -eq ${ids.appid} | Format-List ScopeName,AccessRight`,
    `application access policy restricted to a group: Add-DistributionGroupMember -Identity <the policy's ScopeName group> -Member ${ids.mailbox}`,
    `RBAC for Applications: Get-ManagementRoleAssignment -RoleAssignee ${ids.oid} | Format-List Role,CustomResourceScope, then widen that scope's -RecipientRestrictionFilter to include ${ids.mailbox} (Set-ManagementScope)`,
    `Test-ServicePrincipalAuthorization -Identity ${ids.oid} -Resource ${ids.mailbox}`,
    'changes take effect within about an hour',
  ];
}

export function grantSendAs(mailbox: string, from: string): string[] {
  return ['Connect-ExchangeOnline', `Add-RecipientPermission -Identity ${from} -Trustee ${mailbox} -AccessRights SendAs`];
}
