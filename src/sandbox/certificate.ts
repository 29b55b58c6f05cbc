// Self-signed certificates made in-process (no openssl binary needed, works on every OS).
// The sandbox needs three kinds: the TLS certificate every sandbox server presents, the
// certificate of Entra's token-signing key (published in the JWKS as x5c), and, in tests,
// client certificates for the client_assertion flow.
//
// @peculiar/x509 resolves its ASN.1 providers through tsyringe, which needs this polyfill first.
import 'reflect-metadata';
import { createHash, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface SelfSignedCertificate {
  certPem: string;
  keyPem: string;
  /** DER bytes of the certificate. */
  der: Buffer;
  /** base64url SHA-1 of the DER: Entra's `x5t` / `kid`. */
  x5t: string;
  /** base64url SHA-256 of the DER: the `x5t#S256` header MSAL puts on client assertions. */
  x5tS256: string;
}

export interface CertificateRequest {
  commonName: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  days?: number;
}

export async function createSelfSignedCertificate(request: CertificateRequest): Promise<SelfSignedCertificate> {
  // RSA 2048 with SHA-256: what every client library (old Java, .NET, OpenSSL) accepts.
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const notBefore = new Date(Date.now() - 5 * 60_000);
  const dnsNames = request.dnsNames ?? [];
  const ipAddresses = request.ipAddresses ?? [];
  const extensions: x509.Extension[] = [
    // CA:true (critical) with keyCertSign so that clients may load it as their trust anchor
    // ("ca" option, --cacert, cafile) even under strict X.509 checking.
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.keyCertSign, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (dnsNames.length + ipAddresses.length > 0) {
    extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]));
    extensions.push(new x509.SubjectAlternativeNameExtension([
      ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
      ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
    ]));
  }
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    // positive serial: a leading byte below 0x80
    serialNumber: '01' + Buffer.from(webcrypto.getRandomValues(new Uint8Array(15))).toString('hex'),
    name: `CN=${request.commonName}, O=o365-mail-proxy sandbox`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (request.days ?? 365) * 86_400_000),
    signingAlgorithm: algorithm,
    keys,
    extensions,
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const der = Buffer.from(certificate.rawData);
  return {
    certPem: certificate.toString('pem'),
    keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
    der,
    ...thumbprints(der),
  };
}

export function thumbprints(der: Buffer): { x5t: string; x5tS256: string } {
  return {
    x5t: createHash('sha1').update(der).digest('base64url'),
    x5tS256: createHash('sha256').update(der).digest('base64url'),
  };
}
