import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64Length, takeOutAttachments } from '../../src/upstream/graph/attachments.js';
import { MAX_REQUEST_BASE64 } from '../../src/upstream/graph/limits.js';
import { MailboxLanes } from '../../src/upstream/graph/mailbox-lanes.js';
import { fromAddress, headerRecipients, messageHeader, parseAddressList } from '../../src/upstream/graph/mime-headers.js';
import { retryAfterMs } from '../../src/upstream/graph/retry-after.js';
import { placeRecipients } from '../../src/upstream/graph/send.js';

describe('address lists (RFC 5322), as the Graph path reads To, Cc and Bcc', () => {
  it.each([
    ['a@x.test', [{ address: 'a@x.test' }]],
    ['"Doe, Jane" <jane@x.test>, bob@x.test (Bob)', [{ address: 'jane@x.test', name: 'Doe, Jane' }, { address: 'bob@x.test' }]],
    ['=?UTF-8?B?SsO8cmdlbg==?= <j@x.test>', [{ address: 'j@x.test', name: 'Jürgen' }]],
    ['=?iso-8859-1?Q?Fran=E7ois?= <f@x.test>', [{ address: 'f@x.test', name: 'François' }]],
    ['undisclosed-recipients:;', []],
    ['Team: a@x.test, "B" <b@x.test>;, c@x.test', [{ address: 'a@x.test' }, { address: 'b@x.test', name: 'B' }, { address: 'c@x.test' }]],
    ['"a <not@this>" <real@x.test>', [{ address: 'real@x.test', name: 'a <not@this>' }]],
  ])('%s', (value, expected) => {
    expect(parseAddressList(value)).toEqual(expected);
  });

  it('reads folded and 8-bit header fields, From and the recipients of each kind', () => {
    const message = Buffer.from('From: Ünsere Firma <billing@x.test>\r\nTo: a@x.test,\r\n b@x.test\r\nCC: c@x.test\r\nBcc: d@x.test\r\nSubject: hi\r\n\r\nTo: not@header.test\r\n');
    const fields = messageHeader(message);
    expect(fromAddress(fields)).toBe('billing@x.test');
    expect(headerRecipients(fields)).toEqual({ to: [{ address: 'a@x.test' }, { address: 'b@x.test' }], cc: [{ address: 'c@x.test' }], bcc: [{ address: 'd@x.test' }] });
  });
});

describe('the draft\'s recipients, from the SMTP envelope', () => {
  it('keeps To and Cc where the header has them, makes envelope-only ones Bcc, drops header-only ones', () => {
    const header = { to: [{ address: 'A@x.test', name: 'A' }, { address: 'gone@x.test' }], cc: [{ address: 'c@x.test' }], bcc: [] };
    expect(placeRecipients(['a@x.test', 'c@x.test', 'hidden@x.test', 'A@X.test'], header)).toEqual({
      to: [{ address: 'a@x.test', name: 'A' }], cc: [{ address: 'c@x.test' }], bcc: [{ address: 'hidden@x.test' }],
    });
  });
});

describe('taking large attachments out of a message for one Graph request', () => {
  const file = (name: string, data: Buffer) => `--b\r\nContent-Type: application/pdf; name="${name}"\r\nContent-Disposition: attachment; filename*=utf-8''${encodeURIComponent(name)}\r\nContent-Transfer-Encoding: base64\r\n\r\n${data.toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n`;

  it('leaves a message that fits alone, and takes the largest files first until the rest fits', () => {
    const small = Buffer.from('Subject: s\r\n\r\nbody\r\n');
    expect(takeOutAttachments(small, MAX_REQUEST_BASE64)).toEqual({ mime: small, attachments: [] });
    const big = randomBytes(5 * 1024 * 1024);
    const tiny = randomBytes(1000);
    const message = Buffer.from(`Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\ntext\r\n${file('Größe.pdf', big)}${file('tiny.pdf', tiny)}--b--\r\n`);
    const slim = takeOutAttachments(message, MAX_REQUEST_BASE64)!;
    // (Buffers compared with equals(): a deep equality of 5 MiB takes vitest minutes.)
    expect(slim.attachments.map(({ bytes, ...rest }) => rest)).toEqual([{ name: 'Größe.pdf', contentType: 'application/pdf', isInline: false }]);
    expect(slim.attachments[0]!.bytes.equals(big)).toBe(true);
    expect(base64Length(slim.mime.length)).toBeLessThanOrEqual(MAX_REQUEST_BASE64);
    expect(slim.mime.toString() === `Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\ntext\r\n${file('tiny.pdf', tiny)}--b--\r\n`).toBe(true);
  });

  it('gives up on a message that is not multipart or too large without its files', () => {
    expect(takeOutAttachments(Buffer.concat([Buffer.from('Subject: s\r\n\r\n'), Buffer.alloc(4 * 1024 * 1024, 0x61)]), MAX_REQUEST_BASE64)).toBeUndefined();
  });
});

describe('Retry-After and the per-mailbox lanes', () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs('Sun, 29 Nov 2026 23:00:10 GMT', Date.parse('Sun, 29 Nov 2026 23:00:00 GMT'))).toBe(10_000);
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });

  it('lets 4 requests of one mailbox run at once, queues the rest in order, and does not hold back other mailboxes', async () => {
    const lanes = new MailboxLanes(4);
    const releases: (() => void)[] = [];
    const started: number[] = [];
    const work = (n: number) => lanes.run('Box@x.test', () => new Promise<void>((resolve) => { started.push(n); releases.push(resolve); }));
    const all = [1, 2, 3, 4, 5, 6].map(work);
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([1, 2, 3, 4]);
    expect(lanes.inFlight('box@x.test')).toBe(4);
    let other = false;
    await lanes.run('other@x.test', async () => { other = true; });
    expect(other).toBe(true);
    releases.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([1, 2, 3, 4, 5]);
    while (releases.length > 0) {
      releases.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(started).toEqual([1, 2, 3, 4, 5, 6]);
    expect(lanes.inFlight('box@x.test')).toBe(0);
  });
});
