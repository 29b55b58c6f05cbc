import { describe, expect, it } from 'vitest';
import { readTokenClaims } from '../../src/tokens/claims.js';
import { ClientAuthError, ServerError } from '@azure/msal-node';
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

  it('makes one clean line of MSAL\'s error for Entra\'s answer: the description once, without trace IDs', () => {
    // What MSAL throws for Entra's answer to a token request for a tenant that does not exist.
    const entra = 'Error(s): 90002 - Timestamp: 2026-11-29 10:00:00Z - Description: AADSTS90002: Tenant \'fabrikam.example\' not found. Check to make sure you have the correct tenant ID. - Correlation ID: 6f1c… - Trace ID: 0b2d…';
    const failure = classifyTokenFailure(new ServerError('invalid_request', '6f1c', entra, undefined, '90002', 400));
    expect(failure).toMatchObject({ reason: 'tenant not found (AADSTS90002)', temporary: false, aadsts: '90002' });
    expect(failure.detail).toBe('invalid_request: AADSTS90002: Tenant \'fabrikam.example\' not found. Check to make sure you have the correct tenant ID.');
    // Entra's own multi-line description: its first line only.
    const multiLine = 'Error(s): 7000215 - Timestamp: 2026-11-29 10:00:00Z - Description: AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x\r\nCorrelation ID: y - Correlation ID: y - Trace ID: x';
    expect(classifyTokenFailure(new ServerError('invalid_client', 'y', multiLine, undefined, '7000215', 401)).detail).toBe('invalid_client: AADSTS7000215: Invalid client secret provided.');
  });

  it('says what the network said when MSAL reports only a code and a link', () => {
    for (const code of ['network_error', 'endpoints_resolution_error']) {
      const failure = classifyTokenFailure(new ClientAuthError(code, ''), { text: 'getaddrinfo ENOTFOUND login.microsoftonline.com' });
      expect(failure).toMatchObject({ temporary: true, reason: 'token service unavailable, try again later', detail: 'getaddrinfo ENOTFOUND login.microsoftonline.com' });
    }
    // Without the network's word, MSAL's own text, once.
    expect(classifyTokenFailure(new ClientAuthError('network_error', '')).detail).toBe('network_error: See https://aka.ms/msal.js.errors#network_error for details');
  });

  it('reads Entra\'s error answer to MSAL\'s metadata request, which MSAL reports as a bare code', () => {
    const answer = { text: 'login.microsoftonline.com answered HTTP 400: invalid_tenant: AADSTS90002: Tenant \'x.example\' not found.', status: 400 };
    expect(classifyTokenFailure(new ClientAuthError('endpoints_resolution_error', ''), answer)).toMatchObject({ reason: 'tenant not found (AADSTS90002)', temporary: false, detail: answer.text });
    expect(classifyTokenFailure(new ClientAuthError('endpoints_resolution_error', ''), { text: 'x answered HTTP 503', status: 503 }).temporary).toBe(true);
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
