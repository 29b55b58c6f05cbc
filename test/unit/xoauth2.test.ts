import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { Xoauth2Client } from '../../src/upstream/xoauth2.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const TOKEN = 'eyJ0eXAiOiJKV1QifQ.eyJyb2xlcyI6W119.c2ln';

describe('XOAUTH2 client', () => {
  it.each([
    ['box@contoso.com', 'user=box@contoso.com\x01auth=Bearer eyJ0eXAiOiJKV1QifQ.eyJyb2xlcyI6W119.c2ln\x01\x01'],
    ['bôx@contoso.com', 'user=bôx@contoso.com\x01auth=Bearer eyJ0eXAiOiJKV1QifQ.eyJyb2xlcyI6W119.c2ln\x01\x01'],
  ])('starts with the initial response Exchange expects for %s', (mailbox, expected) => {
    const initial = new Xoauth2Client(mailbox, new Secret(TOKEN)).start();
    expect(initial).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(initial, 'base64').toString('utf8')).toBe(expected);
  });

  // Whatever comes after the initial response is the server's error report: the client
  // answers an empty line (the server then sends its final NO, -ERR or 535) and keeps the status.
  it.each([
    ['Gmail/Dovecot JSON', b64('{"status":"401","schemes":"bearer","scope":"https://outlook.office365.com/.default"}'), { status: '401', schemes: 'bearer', scope: 'https://outlook.office365.com/.default' }],
    ['JSON with spaces around', ` ${b64('{"status":"400"}')} `, { status: '400' }],
    ['JSON without a status', b64('{"schemes":"bearer"}'), { schemes: 'bearer' }],
    ['a status that is not a string', b64('{"status":401}'), {}],
    ['JSON that is not an object', b64('"401"'), {}],
    ['base64 that is not JSON', b64('invalid token'), {}],
    ['text that is not base64', '%%%', {}],
    ['an empty challenge', '', {}],
  ])('answers the error challenge (%s) with an empty line and reports it', (_name, challenge, refusal) => {
    const step = new Xoauth2Client('box@contoso.com', new Secret(TOKEN)).next(challenge);
    expect(step.response).toBe('');
    expect(JSON.parse(JSON.stringify(step.refusal))).toEqual(refusal);
  });

  it('shows the token only in its initial response', () => {
    const client = new Xoauth2Client('box@contoso.com', new Secret(TOKEN));
    const step = client.next(b64('{"status":"401"}'));
    expect(`${JSON.stringify(client)} ${String(client)} ${JSON.stringify(step)}`).not.toContain(TOKEN);
  });
});
