import { describe, expect, it } from 'vitest';
import { createSaslServer, decodeBase64 } from '../../src/auth/sasl/index.js';
import { SaslExchange } from '../../src/auth/sasl/exchange.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

function run(mechanism: string, initial: string | undefined, responses: string[]) {
  const exchange = new SaslExchange(createSaslServer(mechanism)!);
  const lines: string[] = [];
  let step = exchange.start(initial);
  for (const response of responses) {
    if (step.kind !== 'challenge') break;
    lines.push(step.line);
    step = exchange.respond(response);
  }
  return { step, lines };
}

describe('SASL PLAIN', () => {
  it.each([
    ['with initial response', b64('\0alice\0s3cret'), [], []],
    ['with a continuation', undefined, [b64('\0alice\0s3cret')], ['+ ']],
  ])('accepts credentials %s', (_, initial, responses, challenges) => {
    const { step, lines } = run('PLAIN', initial, responses);
    expect(lines).toEqual(challenges);
    expect(step.kind).toBe('done');
    if (step.kind !== 'done') return;
    expect(step.credentials.username).toBe('alice');
    expect(step.credentials.password.reveal()).toBe('s3cret');
    expect(step.credentials.authzid).toBeUndefined();
  });

  it('keeps the authzid and non-ASCII passwords with spaces', () => {
    const { step } = run('plain', b64('box@contoso.com\0alice\0pä ss"\\word'), []);
    expect(step).toMatchObject({ kind: 'done', credentials: { username: 'alice', authzid: 'box@contoso.com' } });
    if (step.kind === 'done') expect(step.credentials.password.reveal()).toBe('pä ss"\\word');
  });

  it.each([
    ['two fields', b64('alice\0secret')],
    ['four fields', b64('a\0b\0c\0d')],
    ['an empty password', b64('\0alice\0')],
  ])('rejects a message with %s', (_, message) => {
    expect(run('PLAIN', message, []).step.kind).toBe('malformed');
  });

  it('treats "=" as an empty initial response, which PLAIN refuses', () => {
    expect(run('PLAIN', '=', []).step.kind).toBe('malformed');
  });
});

describe('credentials from older clients', () => {
  it('decodes non-UTF-8 bytes as ISO-8859-1 (Jakarta Mail POP3 sends Latin-1)', () => {
    const latin1 = Buffer.concat([Buffer.from('\0alice\0'), Buffer.from('Müller', 'latin1')]).toString('base64');
    const { step } = run('PLAIN', latin1, []);
    expect(step.kind === 'done' && step.credentials.password.reveal()).toBe('Müller');
  });

  it('keeps valid UTF-8 as UTF-8', () => {
    const { step } = run('PLAIN', b64('\0alice\0Müller'), []);
    expect(step.kind === 'done' && step.credentials.password.reveal()).toBe('Müller');
  });
});

describe('SASL LOGIN', () => {
  it('asks for username then password', () => {
    const { step, lines } = run('LOGIN', undefined, [b64('alice'), b64('pw with space')]);
    expect(lines).toEqual([`+ ${b64('Username:')}`, `+ ${b64('Password:')}`]);
    expect(step.kind).toBe('done');
    if (step.kind === 'done') expect(step.credentials.password.reveal()).toBe('pw with space');
  });

  it('takes the username from an initial response', () => {
    const { step, lines } = run('LOGIN', b64('alice'), [b64('pw')]);
    expect(lines).toEqual([`+ ${b64('Password:')}`]);
    expect(step).toMatchObject({ kind: 'done', credentials: { username: 'alice' } });
  });
});

describe('SASL exchange', () => {
  it('cancels on "*"', () => {
    expect(run('LOGIN', undefined, ['*']).step.kind).toBe('cancelled');
  });

  it('rejects invalid base64 without echoing it', () => {
    const { step } = run('PLAIN', undefined, ['not base64!']);
    expect(step).toEqual({ kind: 'malformed', message: 'Invalid base64 data.' });
  });

  it('refuses mechanisms it does not offer', () => {
    expect(createSaslServer('CRAM-MD5')).toBeUndefined();
    expect(createSaslServer('XOAUTH2')).toBeUndefined();
  });
});

describe('base64', () => {
  it.each(['', 'YQ==', 'YWI=', 'YWJj'])('decodes %j', (text) => expect(decodeBase64(text)).toBeInstanceOf(Buffer));
  it.each(['YQ', 'Y Q==', 'YQ==\n', '@@@@'])('rejects %j', (text) => expect(decodeBase64(text)).toBeUndefined());
});
