// Exchange Online's side of an XOAUTH2 login: is this bearer token good for this mailbox over
// this protocol? Checked in a fixed order; the reason is returned for tests and debugging but
// never logged or sent (Exchange tells clients nothing either). App-only tokens need the
// protocol's role and FullAccess; delegated ones (`scp`) the protocol's scope and either the
// user's own mailbox or FullAccess for the user.
import { issuerFor } from '../entra/access-token.js';
import type { SigningKey } from '../entra/keys.js';
import type { Directory } from '../directory.js';
import { decodeJwt, nowSeconds, verifyJwtSignature } from '../jwt.js';
import type { MailStore, Mailbox } from '../mail-store.js';
import { parseXoauth2 } from './xoauth2.js';

export type MailProtocol = 'imap' | 'pop3' | 'smtp';

const ROLE: Record<MailProtocol, string> = { imap: 'IMAP.AccessAsApp', pop3: 'POP.AccessAsApp', smtp: 'SMTP.SendAsApp' };
const SCOPE: Record<MailProtocol, string> = { imap: 'IMAP.AccessAsUser.All', pop3: 'POP.AccessAsUser.All', smtp: 'SMTP.Send' };

export type Verdict =
  | { kind: 'ok'; mailbox: Mailbox; expiresAt: number }
  /** Everything valid except the mailbox permission: IMAP's "authenticated but not connected". */
  | { kind: 'not-connected'; expiresAt: number }
  | { kind: 'fail'; reason: string };

export interface TokenCheckContext {
  directory: Directory;
  store: MailStore;
  key: SigningKey;
  audience: string;
  /** Every `aud` accepted: the audience and, for the commercial cloud, its alias (lower case). */
  exchangeResources: Set<string>;
}

export function checkXoauth2(ctx: TokenCheckContext, protocol: MailProtocol, base64: string): Verdict {
  const fail = (reason: string): Verdict => ({ kind: 'fail', reason });
  const response = parseXoauth2(base64);
  if (!response) return fail('malformed XOAUTH2 response');
  const jwt = decodeJwt(response.token);
  if (!jwt || !verifyJwtSignature(jwt, ctx.key.publicKey, ['RS256'])) return fail('bad signature');
  const { exp, nbf, aud, tid, iss, roles, appid, oid, scp } = jwt.claims;
  const now = nowSeconds();
  if (typeof exp !== 'number' || exp <= now) return fail('expired');
  if (typeof nbf === 'number' && nbf > now + 300) return fail('not yet valid');
  if (typeof aud !== 'string' || !ctx.exchangeResources.has(aud.replace(/\/$/, '').toLowerCase())) return fail('wrong audience');
  if (tid !== ctx.directory.tenantId || iss !== issuerFor(ctx.directory.tenantId)) return fail('wrong tenant');
  if (typeof scp === 'string') return checkDelegated(ctx, protocol, response.user, scp, oid, exp);
  if (!Array.isArray(roles) || !roles.includes(ROLE[protocol])) return fail(`missing role ${ROLE[protocol]}`);
  const app = typeof appid === 'string' ? ctx.directory.find(appid) : undefined;
  if (!app || !app.servicePrincipalRegistered || app.objectId !== oid) return fail('service principal not registered');
  const mailbox = ctx.store.get(response.user);
  if (!mailbox) return fail('no such mailbox');
  if (typeof oid !== 'string' || !mailbox.fullAccess.has(oid.toLowerCase())) return { kind: 'not-connected', expiresAt: exp };
  return { kind: 'ok', mailbox, expiresAt: exp };
}

/** A user's token: the protocol's scope, then the user's own mailbox or one they have FullAccess on. */
function checkDelegated(ctx: TokenCheckContext, protocol: MailProtocol, address: string, scp: string, oid: unknown, expiresAt: number): Verdict {
  if (!scp.split(' ').includes(SCOPE[protocol])) return { kind: 'fail', reason: `missing scope ${SCOPE[protocol]}` };
  const user = typeof oid === 'string' ? ctx.directory.userById(oid) : undefined;
  if (!user) return { kind: 'fail', reason: 'no such user' };
  const mailbox = ctx.store.get(address);
  if (!mailbox) return { kind: 'fail', reason: 'no such mailbox' };
  const own = mailbox.address.toLowerCase() === user.upn.toLowerCase();
  if (!own && !mailbox.fullAccess.has(user.objectId.toLowerCase())) return { kind: 'not-connected', expiresAt };
  return { kind: 'ok', mailbox, expiresAt };
}

/**
 * The Gmail/Dovecot-style error continuation (Exchange documents none, but clients must cope):
 * base64 JSON sent as a SASL challenge, to which the client answers with an empty line.
 */
export function errorChallenge(audience: string): string {
  return Buffer.from(JSON.stringify({ status: '401', schemes: 'bearer', scope: `${audience}/.default` })).toString('base64');
}
