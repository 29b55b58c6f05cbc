import { describe, expect, it } from 'vitest';
import { readTokenClaims } from '../../src/tokens/claims.js';
import { classifyTokenFailure } from '../../src/tokens/errors.js';

describe('token failure classification', () => {
  it('names a wrong client secret and calls it permanent', () => {
    const failure = classifyTokenFailure({ errorCode: 'invalid_client', errorNo: '7000215', status: 401, errorMessage: 'AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x' });
    expect(failure).toMatchObject({ reason: 'invalid client secret (AADSTS7000215)', temporary: false, aadsts: '7000215' });
    expect(failure.detail).toBe('invalid_client: AADSTS7000215: Invalid client secret provided.');
  });

  it('reads the AADSTS code from the message when errorNo is absent', () => {
    expect(classifyTokenFailure({ errorCode: 'unauthorized_client', status: 400, errorMessage: 'AADSTS700016: Application with identifier x was not found' }).reason)
      .toBe('application not found in the tenant (AADSTS700016)');
  });

  it('treats network errors, 5xx and 429 as temporary', () => {
    expect(classifyTokenFailure({ errorCode: 'network_error', errorMessage: 'ECONNREFUSED' }).temporary).toBe(true);
    expect(classifyTokenFailure({ errorCode: 'temporarily_unavailable', status: 503 }).temporary).toBe(true);
    expect(classifyTokenFailure({ errorCode: 'x', status: 429 }).temporary).toBe(true);
    expect(classifyTokenFailure(new Error('socket hang up')).temporary).toBe(true);
    expect(classifyTokenFailure({ errorCode: 'temporarily_unavailable', errorNo: 90033, status: 503 }).temporary).toBe(true);
  });

  it('treats MSAL\'s replay of a throttled 5xx (codes, no status) as temporary', () => {
    expect(classifyTokenFailure({ errorCode: '90033', errorMessage: 'AADSTS90033: A transient error has occurred.' })).toMatchObject({ temporary: true, reason: 'token service unavailable, try again later' });
  });

  it('keeps an unknown 4xx permanent, with its code', () => {
    expect(classifyTokenFailure({ errorCode: 'invalid_request', status: 400, errorMessage: 'AADSTS12345: something' })).toMatchObject({ temporary: false, reason: 'token request rejected (AADSTS12345)' });
  });
});

describe('token claims', () => {
  it('reads appid, oid and roles without verifying', () => {
    const payload = Buffer.from(JSON.stringify({ appid: 'a', oid: 'o', tid: 't', roles: ['IMAP.AccessAsApp'], exp: 5 })).toString('base64url');
    expect(readTokenClaims(`h.${payload}.s`)).toEqual({ appid: 'a', oid: 'o', tid: 't', aud: undefined, roles: ['IMAP.AccessAsApp'], exp: 5 });
    expect(readTokenClaims('not a jwt')).toBeUndefined();
  });
});
