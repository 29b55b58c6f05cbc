import { describe, expect, it } from 'vitest';
import { isSmtpAuthDisabled } from '../../src/fronts/smtp/graph-login.js';
import { graphFailureReply } from '../../src/fronts/smtp/graph-replies.js';
import { UpstreamError } from '../../src/outbound/errors.js';
import { TokenError } from '../../src/tokens/errors.js';
import { GraphError, GraphThrottled, GraphUnreachable } from '../../src/upstream/graph/errors.js';
import { TooLargeForGraph } from '../../src/upstream/graph/send.js';

const facts = { mailbox: 'box@x.test', from: 'ceo@x.test', roles: ['Mail.Send'], appId: 'app-id' };
const reply = (error: unknown, f = facts) => {
  const { reply: r } = graphFailureReply(error, f);
  return `${r.code} ${r.text}`;
};

describe('Graph\'s answers as SMTP replies (RFC 5321 / RFC 3463)', () => {
  it.each([
    [new GraphError(403, 'ErrorSendAsDenied', 'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account.', 'r'), /^550 5\.7\.60 Not allowed to send as ceo@x\.test/],
    [new GraphError(403, 'ErrorAccessDenied', 'Access to OData is disabled.', 'r'), /^550 5\.7\.1 The app may not use mailbox box@x\.test: an application access policy/],
    [new GraphError(413, '', '', undefined), /^552 5\.3\.4 /],
    [new TooLargeForGraph('x'), /^552 5\.3\.4 /],
    [new GraphError(400, 'ErrorInvalidRecipients', 'At least one recipient is not valid.', undefined), /^550 5\.1\.3 /],
    [new GraphError(400, 'ErrorInvalidMimeContent', 'bad', undefined), /^554 5\.6\.0 .*ErrorInvalidMimeContent/],
    [new GraphError(404, 'ErrorInvalidUser', 'no such user', undefined), /^550 5\.1\.8 Mailbox box@x\.test/],
    [new GraphThrottled(429, 90_500, undefined), /^451 4\.7\.0 .*try again in 91 seconds$/],
    [new GraphUnreachable('x', true), /^451 4\.4\.2 .*may have been sent/],
    [new GraphUnreachable('x', false), /^451 4\.4\.1 .*not sent/],
    [new GraphError(500, 'InternalServerError', '', undefined), /^451 4\.3\.0 /],
    [new TokenError('token service unavailable', true, 'x'), /^451 4\.7\.0 token service unavailable/],
    [new TokenError('invalid client secret', false, 'x'), /^550 5\.7\.0 invalid client secret$/],
    [new Error('bug'), /^451 4\.3\.0 /],
  ])('%s', (error, expected) => {
    expect(reply(error)).toMatch(expected);
  });

  it('names a missing Mail.ReadWrite when a draft is refused and the token lacks it, not an access policy', () => {
    const refused = new GraphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.', 'r', 'createDraft');
    expect(reply(refused)).toMatch(/^550 5\.7\.1 The app may not create drafts through Microsoft Graph: Mail\.ReadWrite application permission missing/);
    expect(reply(refused, { ...facts, roles: ['Mail.Send', 'Mail.ReadWrite'] })).toMatch(/^550 5\.7\.1 The app may not use mailbox box@x\.test: an application access policy/);
  });

  it('names a missing Mail.Send when the token lacks it, with the fix in the hint, never a secret', () => {
    const answer = graphFailureReply(new GraphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.', 'r'), { ...facts, roles: [] });
    expect(`${answer.reply.code} ${answer.reply.text}`).toMatch(/^550 5\.7\.1 .*Mail\.Send application permission missing/);
    expect(answer.hint).toMatch(/admin consent/);
  });

  it('recognizes Exchange\'s "SMTP AUTH disabled" and nothing else', () => {
    const refused = (reply: string) => new UpstreamError('rejected', 'refused', reply);
    expect(isSmtpAuthDisabled(refused('535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [X]'))).toBe(true);
    expect(isSmtpAuthDisabled(refused('535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information.'))).toBe(true);
    expect(isSmtpAuthDisabled(refused('535 5.7.3 Authentication unsuccessful [X]'))).toBe(false);
    expect(isSmtpAuthDisabled(refused('535 5.7.139 Authentication unsuccessful, basic authentication is disabled.'))).toBe(false);
  });
});
