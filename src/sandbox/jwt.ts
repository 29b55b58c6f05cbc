// Compact JWS (JWT) encoding and checking, only what Entra and Exchange need: RS256 for the
// access tokens Entra signs, RS256 or PS256 for client assertions (MSAL signs PS256).
import { constants, sign, verify, type KeyObject } from 'node:crypto';

export type JwtHeader = Record<string, unknown> & { alg?: unknown; kid?: unknown; x5t?: unknown };
export type JwtClaims = Record<string, unknown>;

export interface DecodedJwt {
  header: JwtHeader;
  claims: JwtClaims;
  signingInput: Buffer;
  signature: Buffer;
}

const encodePart = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export function signJwt(header: JwtHeader, claims: JwtClaims, privateKey: KeyObject): string {
  const signingInput = `${encodePart(header)}.${encodePart(claims)}`;
  const alg = header.alg;
  const signature = alg === 'PS256'
    ? sign('sha256', Buffer.from(signingInput), { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
    : sign('sha256', Buffer.from(signingInput), privateKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function parseObject(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Splits and parses a compact JWS; undefined when it is not one (never throws). */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, c, s] = parts as [string, string, string];
  if (!BASE64URL.test(h) || !BASE64URL.test(c) || !BASE64URL.test(s) || s.length === 0) return undefined;
  const header = parseObject(h);
  const claims = parseObject(c);
  if (!header || !claims) return undefined;
  return { header, claims, signingInput: Buffer.from(`${h}.${c}`), signature: Buffer.from(s, 'base64url') };
}

/** Checks the signature with `publicKey`, for the algorithms in `allowed` only. */
export function verifyJwtSignature(jwt: DecodedJwt, publicKey: KeyObject, allowed: readonly string[]): boolean {
  const alg = jwt.header.alg;
  if (typeof alg !== 'string' || !allowed.includes(alg)) return false;
  try {
    if (alg === 'RS256') return verify('sha256', jwt.signingInput, publicKey, jwt.signature);
    if (alg === 'PS256') {
      return verify('sha256', jwt.signingInput, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, jwt.signature);
    }
  } catch {
    // a key of the wrong type or garbage signature bytes: just "not valid"
  }
  return false;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
