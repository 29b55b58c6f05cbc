// Entra's token-signing key: an RSA key with a self-signed certificate, published in the
// JWKS with `kid` = `x5t` = base64url SHA-1 thumbprint, like login.microsoftonline.com does.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { createSelfSignedCertificate, type SelfSignedCertificate } from '../certificate.js';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  certificate: SelfSignedCertificate;
}

export async function createSigningKey(): Promise<SigningKey> {
  const certificate = await createSelfSignedCertificate({ commonName: 'accounts.accesscontrol.windows.net' });
  const privateKey = createPrivateKey(certificate.keyPem);
  return { kid: certificate.x5t, privateKey, publicKey: createPublicKey(privateKey), certificate };
}

/** The JWKS document (`/discovery/v2.0/keys`). */
export function jwks(key: SigningKey, issuer: string): Record<string, unknown> {
  const jwk = key.publicKey.export({ format: 'jwk' });
  return {
    keys: [{ kty: 'RSA', use: 'sig', kid: key.kid, x5t: key.kid, n: jwk.n, e: jwk.e, x5c: [key.certificate.der.toString('base64')], issuer }],
  };
}
