import { describe, expect, it } from 'vitest';
import { parseAddressList } from '../../src/sandbox/graph/addresses.js';
import { headerRecipients, withAttachments, withoutBcc } from '../../src/sandbox/graph/mime.js';
import { routeOf } from '../../src/sandbox/graph/routes.js';

describe('sandbox Graph: address lists as Graph resolves them', () => {
  it.each([
    ['a@x.test', [{ address: 'a@x.test', name: 'a@x.test' }]],
    ['"Doe, Jane" <jane@x.test>, bob@x.test', [{ address: 'jane@x.test', name: 'Doe, Jane' }, { address: 'bob@x.test', name: 'bob@x.test' }]],
    ['Team: a@x.test, B <b@x.test>;, c@x.test', [{ address: 'a@x.test', name: 'a@x.test' }, { address: 'b@x.test', name: 'B' }, { address: 'c@x.test', name: 'c@x.test' }]],
    ['Undisclosed recipients:;', []],
    ['a@x.test (Alice, the first)', [{ address: 'a@x.test', name: 'a@x.test' }]],
    ['=?UTF-8?B?SsO8cmdlbg==?= <j@x.test>', [{ address: 'j@x.test', name: 'Jürgen' }]],
    ['"Quote \\" inside" <q@x.test>', [{ address: 'q@x.test', name: 'Quote " inside' }]],
    ['not an address, <>', []],
  ])('%s', (value, expected) => {
    expect(parseAddressList(value)).toEqual(expected);
  });

  it('reads folded and repeated header fields, case-insensitively', () => {
    const mime = Buffer.from('TO: a@x.test,\r\n b@x.test\r\ncc: c@x.test\r\nBcc: d@x.test\r\nBCC: e@x.test\r\nSubject: To: z@x.test\r\n\r\nTo: body@x.test\r\n');
    expect(headerRecipients(mime)).toEqual({
      to: [{ address: 'a@x.test', name: 'a@x.test' }, { address: 'b@x.test', name: 'b@x.test' }],
      cc: [{ address: 'c@x.test', name: 'c@x.test' }],
      bcc: [{ address: 'd@x.test', name: 'd@x.test' }, { address: 'e@x.test', name: 'e@x.test' }],
    });
    expect(withoutBcc(mime).toString()).toBe('TO: a@x.test,\r\n b@x.test\r\ncc: c@x.test\r\nSubject: To: z@x.test\r\n\r\nTo: body@x.test\r\n');
  });
});

describe('sandbox Graph: attachments added to a message', () => {
  const file = { name: 'r.csv', contentType: 'text/csv', content: Buffer.from('a,b\n') };

  it('wraps a single-part message in multipart/mixed, moving its Content-* fields into the first part', () => {
    const out = withAttachments(Buffer.from('Subject: s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n'), [file]).toString();
    const boundary = /boundary="([^"]+)"/.exec(out)![1]!;
    expect(out).toBe(`Content-Type: multipart/mixed; boundary="${boundary}"\r\nSubject: s\r\n\r\n--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n\r\n--${boundary}\r\nContent-Type: text/csv; name="r.csv"\r\nContent-Disposition: attachment; filename="r.csv"\r\nContent-Transfer-Encoding: base64\r\n\r\nYSxiCg==\r\n--${boundary}--\r\n`);
  });

  it('adds parts before the closing boundary of a multipart/mixed message', () => {
    const mime = 'Content-Type: multipart/mixed; boundary=XYZ\r\n\r\n--XYZ\r\n\r\ntext\r\n--XYZ--\r\n';
    expect(withAttachments(Buffer.from(mime), [file]).toString()).toBe('Content-Type: multipart/mixed; boundary=XYZ\r\n\r\n--XYZ\r\n\r\ntext\r\n--XYZ\r\nContent-Type: text/csv; name="r.csv"\r\nContent-Disposition: attachment; filename="r.csv"\r\nContent-Transfer-Encoding: base64\r\n\r\nYSxiCg==\r\n--XYZ--\r\n');
  });
});

describe('sandbox Graph: routes', () => {
  it.each([
    ['POST', '/v1.0/users/a%40x.test/sendMail', { operation: 'sendMail', user: 'a@x.test' }],
    ['POST', '/v1.0/users/a@x.test/SENDMAIL', { operation: 'sendMail', user: 'a@x.test' }],
    ['POST', "/v1.0/users('a@x.test')/messages", { operation: 'createMessage', user: 'a@x.test' }],
    ['PATCH', '/v1.0/users/a@x.test/messages/AAMk%3D', { operation: 'updateMessage', user: 'a@x.test', messageId: 'AAMk=' }],
    ['POST', '/v1.0/users/a@x.test/messages/id1/attachments/createUploadSession', { operation: 'createUploadSession', user: 'a@x.test', messageId: 'id1' }],
    ['PUT', "/upload/Users('a%40x.test')/Messages('id1')/AttachmentSessions('s1')", { operation: 'uploadChunk', user: 'a@x.test', messageId: 'id1', sessionId: 's1' }],
  ])('%s %s', (method, path, expected) => {
    expect(routeOf(method, path)).toEqual(expected);
  });

  it.each([['GET', '/v1.0/users/a@x.test/sendMail'], ['POST', '/v1.0/me/sendMail'], ['POST', '/beta/users/a@x.test/sendMail'], ['POST', '/v1.0/users/%E0%A4%A/sendMail'], ['PUT', '/v1.0/users/a@x.test/messages/id1']])('nothing for %s %s', (method, path) => {
    expect(routeOf(method, path)).toBeUndefined();
  });
});
