import { TokenError } from '../../tokens/errors.js';
import { GraphError, GraphThrottled, GraphUnreachable } from '../../upstream/graph/errors.js';
import { TooLargeForGraph } from '../../upstream/graph/send.js';
import type { SmtpAnswer } from './replies.js';

/** What the reply may name: never a token, never content. */
export interface SendFacts {
  mailbox: string;
  /** The From header's address (what Exchange checks SendAs against). */
  from: string;
  /** The Graph token's roles, when known: they tell a missing permission from an access policy. */
  roles: readonly string[] | undefined;
  appId: string | undefined;
}

interface Row {
  /** Graph's answer, in the README's words. */
  graph: string;
  matches: (error: unknown, facts: SendFacts) => boolean;
  reply: (error: never, facts: SendFacts) => SmtpAnswer;
  /** For the log: what an administrator does about it. */
  hint?: (facts: SendFacts) => string;
}

const graphError = (status: number | ((s: number) => boolean), code?: RegExp) => (error: unknown) =>
  error instanceof GraphError && (typeof status === 'number' ? error.status === status : status(error.status)) && (!code || code.test(error.code));
/** The calls of the draft path, which Mail.ReadWrite allows. */
const DRAFT_OPERATIONS = new Set(['createDraft', 'updateDraft', 'addAttachment', 'createUploadSession', 'getDraft', 'deleteDraft']);
const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * Graph's refusals as SMTP replies (RFC 5321 codes, RFC 3463 enhanced codes), first match
 * wins. The README's "Sending through Microsoft Graph" shows the same table.
 */
export const GRAPH_REPLIES: readonly Row[] = [
  {
    graph: '403 ErrorSendAsDenied',
    matches: graphError(403, /^ErrorSendAsDenied$/),
    reply: (_: never, f) => ({ code: 550, text: `5.7.60 Not allowed to send as ${f.from}: the mailbox ${f.mailbox} has no SendAs right for it` }),
    hint: (f) => `grant it: Add-RecipientPermission -Identity ${f.from} -Trustee ${f.mailbox} -AccessRights SendAs`,
  },
  {
    graph: '403 ErrorAccessDenied with a token lacking Mail.Send',
    matches: (e, f) => graphError(403)(e) && f.roles !== undefined && !f.roles.includes('Mail.Send'),
    reply: () => ({ code: 550, text: '5.7.1 The app may not send mail through Microsoft Graph: Mail.Send application permission missing (run o365-mail-proxy doctor)' }),
    hint: () => 'add the Mail.Send application permission on Microsoft Graph to the app registration and grant admin consent',
  },
  {
    graph: '403 ErrorAccessDenied on a draft, token without Mail.ReadWrite',
    matches: (e, f) => graphError(403)(e) && DRAFT_OPERATIONS.has((e as GraphError).operation) && f.roles !== undefined && !f.roles.includes('Mail.ReadWrite'),
    reply: () => ({ code: 550, text: '5.7.1 The app may not create drafts through Microsoft Graph: Mail.ReadWrite application permission missing, needed for Bcc-only recipients and large messages (run o365-mail-proxy doctor)' }),
    hint: () => 'add the Mail.ReadWrite application permission on Microsoft Graph and grant admin consent: the draft path (envelope recipients other than the To/Cc/Bcc headers, messages over one request) needs it',
  },
  {
    graph: '403 ErrorAccessDenied ("Access to OData is disabled", RBAC scope)',
    matches: graphError(403),
    reply: (_: never, f) => ({ code: 550, text: `5.7.1 The app may not use mailbox ${f.mailbox}: an application access policy or RBAC scope excludes it (run o365-mail-proxy doctor)` }),
    hint: (f) => `Test-ApplicationAccessPolicy -Identity ${f.mailbox} -AppId ${f.appId ?? '<app id>'}; add the mailbox to the policy's group, or to the management scope of the app's role assignment`,
  },
  {
    graph: '401 (a fresh token refused too)',
    matches: graphError(401),
    reply: () => ({ code: 451, text: '4.7.0 Microsoft Graph refused the access token, try again later' }),
    hint: () => 'check apps.<name>.graphScope and upstream.graph.url: the token must be for Microsoft Graph in the same cloud',
  },
  {
    graph: '404 (ErrorInvalidUser, MailboxNotEnabledForRESTAPI, …)',
    matches: graphError(404),
    reply: (_: never, f) => ({ code: 550, text: `5.1.8 Mailbox ${f.mailbox} was not found in Exchange Online` }),
    hint: () => 'check accounts.<username>.mailbox: it must be an Exchange Online mailbox of this tenant',
  },
  {
    graph: '413, or ErrorMessageSizeExceeded; a message Graph cannot take in one piece',
    matches: (e) => graphError(413)(e) || graphError(400, /SizeExceeded|TooLarge/i)(e) || e instanceof TooLargeForGraph,
    reply: () => ({ code: 552, text: '5.3.4 Message too big for Microsoft Graph' }),
  },
  {
    graph: '400 ErrorInvalidRecipients',
    matches: graphError(400, /Recipient/i),
    reply: (e: GraphError) => ({ code: 550, text: `5.1.3 Microsoft Graph refused a recipient: ${e.text || e.code}` }),
  },
  {
    graph: 'other 400 (ErrorInvalidMimeContent, …)',
    matches: graphError(400),
    reply: (e: GraphError) => ({ code: 554, text: `5.6.0 Microsoft Graph refused the message: ${e.code || 'HTTP 400'}` }),
  },
  {
    graph: '429 / 503 / 504 asking to wait past upstream.graph.sendTimeoutMs',
    matches: (e) => e instanceof GraphThrottled,
    reply: (e: GraphThrottled) => ({ code: 451, text: `4.7.0 Microsoft Graph is throttling this mailbox, try again in ${seconds(e.waitMs)} seconds` }),
  },
  {
    graph: 'no answer after the message was handed over',
    matches: (e) => e instanceof GraphUnreachable && e.mayHaveActed,
    reply: () => ({ code: 451, text: '4.4.2 Connection to Microsoft Graph lost after the message was handed over; it may have been sent, check Sent Items before sending again' }),
  },
  {
    graph: 'no answer, nothing sent',
    matches: (e) => e instanceof GraphUnreachable,
    reply: () => ({ code: 451, text: '4.4.1 No answer from Microsoft Graph, message not sent; try again later' }),
  },
  {
    graph: 'no Graph token (temporary / setup)',
    matches: (e) => e instanceof TokenError,
    reply: (e: TokenError) => (e.temporary ? { code: 451, text: `4.7.0 ${e.reason}, try again later` } : { code: 550, text: `5.7.0 ${e.reason}` }),
  },
  {
    graph: 'any other status',
    matches: (e) => e instanceof GraphError,
    reply: (e: GraphError) => ({ code: 451, text: `4.3.0 Microsoft Graph failed (HTTP ${e.status}${e.code ? ` ${e.code}` : ''}), try again later` }),
  },
];

/** The reply for a failed send, and the row's hint for the log. Unknown errors are bugs: 451, try again. */
export function graphFailureReply(error: unknown, facts: SendFacts): { reply: SmtpAnswer; hint?: string } {
  const row = GRAPH_REPLIES.find((r) => r.matches(error, facts));
  if (!row) return { reply: { code: 451, text: '4.3.0 Internal error while sending through Microsoft Graph, try again later' } };
  return { reply: row.reply(error as never, facts), ...(row.hint ? { hint: row.hint(facts) } : {}) };
}
