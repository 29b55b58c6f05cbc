// Which Graph call a request is: pure parsing of method and path. Graph matches path segments
// case-insensitively ("sendMail" = "sendmail"); the user segment is a UPN (URL-encoded or not)
// and may be written `users('upn')` as in Outlook's URLs.
import type { GraphOperation } from '../types.js';
import { addAttachment, createUploadSession } from './attachments.js';
import type { GraphRequest } from './context.js';
import { createMessage, deleteMessage, getMessage, sendDraft, updateMessage } from './drafts.js';
import type { GraphAnswer } from './answer.js';
import { sendMail } from './send-mail.js';

export interface Route {
  operation: GraphOperation;
  /** The folder of a mailFolders/{folder}/messages listing. */
  folder?: string;
  /** The {id | userPrincipalName} of the URL (for uploads: the draft's mailbox). */
  user: string;
  messageId?: string;
  sessionId?: string;
}

interface Operation {
  handler: (request: GraphRequest) => GraphAnswer;
  /** App roles any one of which allows the call (Graph's documented least privilege and above). */
  roles: string[];
}

const READ_WRITE = ['Mail.ReadWrite'];

const READ = ['Mail.ReadBasic.All', 'Mail.Read', 'Mail.ReadWrite'];

export const OPERATIONS: Record<Exclude<GraphOperation, 'uploadChunk' | 'listSentItems'>, Operation> = {
  sendMail: { handler: sendMail, roles: ['Mail.Send'] },
  createMessage: { handler: createMessage, roles: READ_WRITE },
  getMessage: { handler: getMessage, roles: READ },
  updateMessage: { handler: updateMessage, roles: READ_WRITE },
  deleteMessage: { handler: deleteMessage, roles: READ_WRITE },
  addAttachment: { handler: addAttachment, roles: READ_WRITE },
  createUploadSession: { handler: createUploadSession, roles: READ_WRITE },
  send: { handler: sendDraft, roles: ['Mail.Send'] },
};

/** Roles for any routed operation (upload chunks need none: the upload URL is the credential). */
export const rolesFor = (operation: GraphOperation): string[] =>
  operation === 'uploadChunk' ? [] : operation === 'listSentItems' ? READ : OPERATIONS[operation].roles;

/** `users('x')` or `users` + `x` → x. */
const unwrap = (segment: string): string => decodeURIComponent(segment.replace(/^[^(]*\('(.*)'\)$/, '$1'));

function messageRoute(method: string, rest: string[]): { operation: GraphOperation; messageId?: string; folder?: string } | undefined {
  const [first, id, action, sub] = rest.map((s) => s.toLowerCase());
  if (first === 'sendmail' && rest.length === 1 && method === 'POST') return { operation: 'sendMail' };
  if (first === 'mailfolders' && rest.length === 3 && action === 'messages' && method === 'GET') return { operation: 'listSentItems', folder: decodeURIComponent(rest[1]!) };
  if (first !== 'messages') return undefined;
  if (rest.length === 1) return method === 'POST' ? { operation: 'createMessage' } : undefined;
  const messageId = decodeURIComponent(rest[1]!);
  if (rest.length === 2 && id) {
    const byMethod: Record<string, GraphOperation> = { GET: 'getMessage', PATCH: 'updateMessage', DELETE: 'deleteMessage' };
    return byMethod[method] ? { operation: byMethod[method], messageId } : undefined;
  }
  if (method !== 'POST') return undefined;
  if (rest.length === 3 && action === 'send') return { operation: 'send', messageId };
  if (rest.length === 3 && action === 'attachments') return { operation: 'addAttachment', messageId };
  if (rest.length === 4 && action === 'attachments' && sub === 'createuploadsession') return { operation: 'createUploadSession', messageId };
  return undefined;
}

/** The route of a request, or undefined for a path the sandbox does not serve. */
export function routeOf(method: string, pathname: string): Route | undefined {
  const segments = pathname.split('/').filter(Boolean);
  try {
    if (segments[0] === 'upload' && segments.length === 4 && method === 'PUT') {
      return { operation: 'uploadChunk', user: unwrap(segments[1]!), messageId: unwrap(segments[2]!), sessionId: unwrap(segments[3]!) };
    }
    if (segments[0]?.toLowerCase() !== 'v1.0' || segments.length < 3) return undefined;
    const usersWrapped = /^users\(/i.test(segments[1]!);
    if (!usersWrapped && segments[1]!.toLowerCase() !== 'users') return undefined;
    const user = unwrap(usersWrapped ? segments[1]! : segments[2]!);
    const found = messageRoute(method, segments.slice(usersWrapped ? 2 : 3));
    return found && user ? { ...found, user } : undefined;
  } catch {
    return undefined; // a malformed %-escape
  }
}
