import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { Secret } from '../../src/config/secret.js';
import { connectRequest, parseConnectAnswer } from '../../src/outbound/http-proxy.js';
import { minimalConfig, tempDir } from '../helpers/config.js';

const proxy = { host: 'proxy.corp.test', port: 3128, forMail: false };

describe('CONNECT request', () => {
  it('names the target as host:port, with IPv6 literals in brackets', () => {
    expect(connectRequest({ host: 'outlook.office365.com', port: 993 }, proxy))
      .toBe('CONNECT outlook.office365.com:993 HTTP/1.1\r\nHost: outlook.office365.com:993\r\n\r\n');
    expect(connectRequest({ host: '2001:db8::1', port: 587 }, proxy)).toMatch(/^CONNECT \[2001:db8::1\]:587 HTTP\/1\.1\r\nHost: \[2001:db8::1\]:587\r\n/);
  });

  it('sends Basic credentials in UTF-8 when configured', () => {
    const request = connectRequest({ host: 'login.microsoftonline.com', port: 443 }, { ...proxy, auth: { username: 'svc', password: new Secret('pä:ss') } });
    expect(request).toContain(`Proxy-Authorization: Basic ${Buffer.from('svc:pä:ss', 'utf8').toString('base64')}\r\n\r\n`);
  });
});

describe('CONNECT answer', () => {
  it('waits for the whole head, then keeps what follows it', () => {
    expect(parseConnectAnswer(Buffer.from('HTTP/1.1 200 Connection established\r\nProxy-agent: x\r\n'))).toBeUndefined();
    const answer = parseConnectAnswer(Buffer.from('HTTP/1.0 200 Connection established\r\nProxy-agent: x\r\n\r\n220 smtp ready\r\n'));
    expect(answer).toEqual({ status: 200, reason: 'Connection established', rest: Buffer.from('220 smtp ready\r\n') });
  });

  it('reads refusals and answers without a reason phrase', () => {
    expect(parseConnectAnswer(Buffer.from('HTTP/1.1 403 Forbidden\r\n\r\n'))).toMatchObject({ status: 403, reason: 'Forbidden' });
    expect(parseConnectAnswer(Buffer.from('HTTP/1.1 407\r\nProxy-Authenticate: Basic realm="corp"\r\n\r\n'))).toMatchObject({ status: 407, reason: '' });
  });

  it('refuses something that is not an HTTP answer, or a head without end', () => {
    expect(() => parseConnectAnswer(Buffer.from('* OK IMAP4rev1 ready\r\n\r\n'))).toThrow(/not an HTTP answer/);
    expect(() => parseConnectAnswer(Buffer.alloc(17 * 1024, 'a'))).toThrow(/too long/);
  });
});

describe('upstream.httpProxy in the config', () => {
  const withProxy = (httpProxy: unknown) => minimalConfig({ upstream: { httpProxy } });
  const problems = (raw: unknown) => {
    try {
      validateConfig(raw, tempDir());
      return [];
    } catch (error) {
      return (error as { problems: { key: string; problem: string }[] }).problems.map((p) => `${p.key}: ${p.problem}`);
    }
  };

  it('takes host, port (80 by default) and credentials from the URL or from username/password', () => {
    process.env.O365P_TEST_PROXY_PASSWORD = 'from env';
    const fromKeys = validateConfig(withProxy({ url: 'http://proxy.corp.test:3128', username: 'svc', password: '${env:O365P_TEST_PROXY_PASSWORD}', forMail: true }), tempDir());
    expect(fromKeys.upstream.httpProxy).toMatchObject({ host: 'proxy.corp.test', port: 3128, forMail: true, auth: { username: 'svc' } });
    expect(fromKeys.upstream.httpProxy?.auth?.password.reveal()).toBe('from env');
    const fromUrl = validateConfig(withProxy({ url: 'http://svc%40corp:p%3Ass@[::1]' }), tempDir());
    expect(fromUrl.upstream.httpProxy).toMatchObject({ host: '::1', port: 80, forMail: false, auth: { username: 'svc@corp' } });
    expect(fromUrl.upstream.httpProxy?.auth?.password.reveal()).toBe('p:ss');
  });

  it('names the key and never echoes a URL that may hold a password', () => {
    expect(problems(withProxy({ url: 'https://svc:TOPSECRET@proxy.corp.test' }))).toEqual([expect.stringMatching(/^upstream\.httpProxy\.url: uses https, but only http:\/\/ proxies/)]);
    expect(problems(withProxy({ url: 'http://proxy.corp.test', username: 'svc' }))).toEqual(['upstream.httpProxy: has username but no password']);
    expect(problems(withProxy({ url: 'http://a:b@proxy.corp.test', username: 'svc', password: 'x' }))).toEqual(['upstream.httpProxy: has credentials both in url and in username/password']);
    expect(problems(withProxy({ url: 'not a url', forMail: 'yes' })).sort()).toEqual(['upstream.httpProxy.forMail: must be true or false', 'upstream.httpProxy.url: is not a URL']);
    expect(JSON.stringify(problems(withProxy({ url: 'https://svc:TOPSECRET@proxy.corp.test' })))).not.toContain('TOPSECRET');
  });
});
